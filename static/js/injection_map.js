// The injection map on the chart (templates/treatment_sessions/session_day/_map_editor.html).
//
// The practitioner taps a diagram to add a point with the settings of the bar above it
// (syringe, technique, depth, needle, volume: kept from tap to tap), or chooses "Zone" and drags
// to paint a nappage area. Tapping a point selects it to change or delete it; Undo takes back
// the last change. A syringe is a mixture prepared once: its products, each from a lot (the one
// that expires first is offered first), in shares that add up to 100 %.
//
// Everything is kept in the hidden "map" field as JSON, in the shape the server reads
// (session_day/mapping.py read_map): {"syringes": [{label, components: [{lot, product,
// expires_on, percent}]}], "points": [{syringe, diagram, area, shape, x, y, outline, depth_mm,
// technique, needle_gauge, volume_ml}]}. The server checks it again and works out the chart's
// areas and products from it; the totals here are for the practitioner while charting.
//
// Keyboard and screen-reader users add points from the form row under the diagram (at the
// chosen region's centre) and change or delete them from the table of points. Without
// JavaScript the section stays hidden and the chart's area and product fields do the job.
// No inline scripts or styles: the CSP forbids them (colours are classes, see injection_map.css).
(function () {
  "use strict";

  var root = document.querySelector("[data-map-editor]");
  var field = root && document.getElementById(root.dataset.input);
  var pageData = document.getElementById("map-page");
  if (!root || !field || !pageData) return;
  var page;
  try {
    page = JSON.parse(pageData.textContent);
  } catch (error) {
    return;
  }
  var SVG = "http://www.w3.org/2000/svg";

  // A diagram the page did not inline is fetched from its static file (same origin) and put in
  // its panel: the map is drawn on the SVG itself, so its regions answer to a tap.
  function inline(panel) {
    if (panel.querySelector("svg") || !panel.dataset.file) return Promise.resolve();
    return fetch(panel.dataset.file, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.text();
      })
      .then(function (text) {
        var parsed = new DOMParser().parseFromString(text, "image/svg+xml");
        var svg = parsed.documentElement;
        if (!svg || svg.nodeName.toLowerCase() !== "svg" || parsed.querySelector("parsererror")) throw new Error("svg");
        panel.appendChild(document.importNode(svg, true));
      })
      .catch(function () {
        panel.classList.add("is-missing"); // the tab stays; the list can still add to it
      });
  }
  Promise.all(Array.prototype.map.call(root.querySelectorAll(".map-panel"), inline)).then(run);

  function run() {
    var startedAt = window.performance ? performance.now() : 0;
  var COLOURS = 20; // .map-syr-0 ... .map-syr-19 (six colours in turn), one per syringe
  var TAP_SLOP_PX = 10; // a finger moves a little on a tap
  var STROKE_STEP = 0.8; // diagram units between two recorded points of a painted zone
  var MAX_OUTLINE = 60;
  var UNDO_DEPTH = 100;

  // --- Words (translated in the template) -------------------------------------------------

  var words = {};
  root.querySelectorAll("[data-map-text] [data-key]").forEach(function (el) {
    words[el.dataset.key] = el.textContent.trim();
  });
  function say(key, values) {
    var text = words[key] || key;
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(values[name]));
    });
    return text;
  }

  // --- Numbers: millilitres as integer microlitres, so sums do not drift --------------------

  function number(value) {
    var parsed = parseFloat(String(value === undefined || value === null ? "" : value).replace(",", "."));
    return isFinite(parsed) ? parsed : NaN;
  }
  function microlitres(value) {
    var ml = number(value);
    return isFinite(ml) ? Math.round(ml * 1000) : 0;
  }
  function ml(ul) {
    return String(Math.round(ul) / 1000);
  }
  // As the server stores the totals: to 0.01 ml, rounded up (session_day/mapping.py map_totals).
  function upToCent(ul) {
    return Math.ceil(ul / 10 - 1e-9) * 10;
  }
  function decimal(value, places) {
    var parsed = number(value);
    if (!isFinite(parsed)) return "";
    var text = parsed.toFixed(places);
    return places ? text.replace(/\.?0+$/, "") || "0" : text;
  }
  function round1(value) {
    return Math.round(value * 10) / 10;
  }
  function clamp(value, low, high) {
    return Math.min(high, Math.max(low, value));
  }

  // --- What the page offers: diagrams, areas, techniques, products and their lots -----------

  var meta = {};
  (page.diagrams || []).forEach(function (entry) {
    meta[entry.code] = entry;
  });
  var planAreas = (page.protocol && page.protocol.plan_areas) || [];
  var tabs = Array.prototype.slice.call(root.querySelectorAll("[role=tab][data-diagram]"));
  // The diagrams of the plan's areas come first; the others follow, a little apart.
  tabs.forEach(function (tab) {
    var entry = meta[tab.dataset.diagram] || {};
    var areas = Object.keys(entry.regions || {}).map(function (id) {
      return entry.regions[id];
    });
    areas.push(entry.default_area);
    var relevant = areas.some(function (area) {
      return planAreas.indexOf(area) >= 0;
    });
    tab.classList.toggle("is-relevant", relevant);
  });
  tabs.sort(function (a, b) {
    return (b.classList.contains("is-relevant") ? 1 : 0) - (a.classList.contains("is-relevant") ? 1 : 0);
  });
  tabs.forEach(function (tab) {
    tab.parentNode.appendChild(tab);
  });
  var panels = {};
  var diagrams = {};
  tabs.forEach(function (tab) {
    var code = tab.dataset.diagram;
    var panel = document.getElementById(tab.getAttribute("aria-controls"));
    var svg = panel && panel.querySelector("svg");
    if (!svg) return;
    var box = svg.viewBox && svg.viewBox.baseVal;
    panels[code] = panel;
    diagrams[code] = {
      code: code,
      title: tab.dataset.title || tab.textContent.trim(),
      height: box && box.height ? box.height : number(tab.dataset.height) || 100,
      width: box && box.width ? box.width : 100,
      defaultArea: (meta[code] && meta[code].default_area) || "",
      areas: diagramAreas(meta[code], svg),
      regionTitles: (meta[code] && meta[code].region_titles) || {},
      anchors: (meta[code] && meta[code].anchors) || {},
      svg: svg,
      regions: Array.prototype.slice.call(svg.querySelectorAll("[data-area]")),
    };
    svg.classList.add("map-svg");
    var layer = document.createElementNS(SVG, "g");
    layer.setAttribute("class", "map-marks");
    svg.appendChild(layer);
    diagrams[code].layer = layer;
  });
  var codes = tabs.map(function (tab) {
    return tab.dataset.diagram;
  }).filter(function (code) {
    return diagrams[code];
  });
  if (!codes.length) return;

  var areaNames = page.areas || {};
  var techniqueNames = {};
  (page.techniques || []).forEach(function (pair) {
    // "Nappage (many superficial injections)": the table says "Nappage".
    techniqueNames[pair[0]] = String(pair[1]).replace(/\s*\(.*\)$/, "");
  });
  var planned = plannedProducts();
  var products = [];
  var productsByPk = {};
  var lotsByProduct = {};
  var dates = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    day: "numeric",
    month: "short",
    year: "numeric",
  });
  (page.products || []).forEach(function (entry) {
    var product = { pk: String(entry.pk), name: entry.name, planned: planned.indexOf(String(entry.pk)) >= 0 };
    products.push(product);
    productsByPk[product.pk] = product;
    lotsByProduct[product.pk] = (entry.lots || []).map(function (lot) {
      var expires = lot.expires_on ? dates.format(new Date(lot.expires_on + "T12:00:00")) : "";
      return {
        lot: lot.lot,
        expiresOn: lot.expires_on || "",
        label:
          lot.on_hand_ml === null || lot.on_hand_ml === undefined
            ? say("lot-option", { lot: lot.lot, expires: expires })
            : say("lot-option-left", { lot: lot.lot, expires: expires, left: lot.on_hand_ml }),
      };
    });
  });

  // The plan's products, for the first syringe of a first session: as the page gives them, else
  // as the chart's product rows start (each row is one of the plan's products).
  function plannedProducts() {
    var given = page.protocol && page.protocol.plan_products;
    if (Array.isArray(given)) return given.map(String);
    var found = [];
    document.querySelectorAll("select[name^='products-'][name$='-product']").forEach(function (select) {
      if (select.value && found.indexOf(select.value) < 0) found.push(select.value);
    });
    return found;
  }

  // The areas one may mark on a diagram (the server refuses others): its regions' and its default.
  function diagramAreas(entry, svg) {
    var found = [];
    var add = function (code) {
      if (code && found.indexOf(code) < 0) found.push(code);
    };
    Object.keys((entry && entry.regions) || {}).forEach(function (id) {
      add(entry.regions[id]);
    });
    svg.querySelectorAll("[data-area]").forEach(function (region) {
      add(region.dataset.area);
    });
    add(entry && entry.default_area);
    return found;
  }

  function areaName(code) {
    return areaNames[code] || code || "—";
  }
  function productName(pk) {
    return productsByPk[pk] ? productsByPk[pk].name : "";
  }

  // --- State: the map as the server will read it, with keys of our own for the syringes ----

  var nextKey = 1;
  var state = { syringes: [], points: [] };
  var selected = -1;
  var undo = [];
  var current = null; // the diagram shown

  function newKey() {
    return "s" + nextKey++;
  }

  function readField() {
    var data;
    try {
      data = JSON.parse(field.value || "{}");
    } catch (error) {
      data = {};
    }
    if (!data || typeof data !== "object") data = {};
    var byLabel = {};
    var syringes = (Array.isArray(data.syringes) ? data.syringes : []).map(function (syringe) {
      var made = {
        key: newKey(),
        label: String(syringe && syringe.label ? syringe.label : ""),
        components: (syringe && Array.isArray(syringe.components) ? syringe.components : []).map(component),
      };
      if (!made.components.length) made.components.push(component({}));
      byLabel[made.label] = made.key;
      return made;
    });
    var points = (Array.isArray(data.points) ? data.points : []).map(function (point) {
      point = point || {};
      var label = String(point.syringe || "");
      if (!byLabel[label]) {
        // A point of a syringe the map does not describe: keep it, with an empty syringe.
        var made = { key: newKey(), label: label, components: [component({})] };
        syringes.push(made);
        byLabel[label] = made.key;
      }
      return {
        syringe: byLabel[label],
        diagram: String(point.diagram || ""),
        area: String(point.area || ""),
        shape: point.shape === "zone" ? "zone" : "point",
        x: round1(number(point.x) || 0),
        y: round1(number(point.y) || 0),
        outline: Array.isArray(point.outline)
          ? point.outline.map(function (pair) {
              return [round1(number(pair && pair[0]) || 0), round1(number(pair && pair[1]) || 0)];
            })
          : [],
        depth_mm: decimal(point.depth_mm, 1),
        technique: String(point.technique || ""),
        needle_gauge: point.needle_gauge === null || point.needle_gauge === undefined ? "" : String(point.needle_gauge),
        volume_ml: decimal(point.volume_ml, 3),
      };
    });
    return { syringes: syringes, points: points };
  }

  function component(data) {
    data = data || {};
    var product = data.product === null || data.product === undefined ? "" : String(data.product);
    var lot = String(data.lot || "");
    var known = (lotsByProduct[product] || []).some(function (entry) {
      return entry.lot.toUpperCase() === lot.toUpperCase();
    });
    return {
      product: product,
      lot: lot,
      expires_on: String(data.expires_on || ""),
      percent: decimal(data.percent, 2),
      typed: !!lot && !known, // a lot typed by hand (not one of the stock's)
    };
  }

  function serialise() {
    var labels = {};
    state.syringes.forEach(function (syringe) {
      labels[syringe.key] = syringe.label;
    });
    return {
      syringes: state.syringes.map(function (syringe) {
        return {
          label: syringe.label,
          components: syringe.components.map(function (part) {
            return {
              lot: part.lot,
              product: part.product ? Number(part.product) : null,
              expires_on: part.typed && part.expires_on ? part.expires_on : null,
              percent: part.percent,
            };
          }),
        };
      }),
      points: state.points.map(function (point) {
        var out = {
          syringe: labels[point.syringe] || "",
          diagram: point.diagram,
          area: point.area,
          shape: point.shape,
          x: String(point.x),
          y: String(point.y),
          outline: point.shape === "zone" ? point.outline : [],
          depth_mm: point.depth_mm,
          technique: point.technique,
          needle_gauge: point.needle_gauge === "" ? null : Number(point.needle_gauge),
          volume_ml: point.volume_ml,
        };
        return out;
      }),
    };
  }

  function snapshot() {
    undo.push(JSON.stringify(state));
    if (undo.length > UNDO_DEPTH) undo.shift();
  }

  function syringeOf(key) {
    for (var i = 0; i < state.syringes.length; i++) {
      if (state.syringes[i].key === key) return state.syringes[i];
    }
    return null;
  }
  function syringeIndex(key) {
    for (var i = 0; i < state.syringes.length; i++) {
      if (state.syringes[i].key === key) return i;
    }
    return 0;
  }

  // --- The settings bar: what the next tap adds ----------------------------------------------

  var bar = {
    syringe: root.querySelector("[data-map-setting=syringe]"),
    technique: root.querySelector("[data-map-setting=technique]"),
    depth: root.querySelector("[data-map-setting=depth_mm]"),
    gauge: root.querySelector("[data-map-setting=needle_gauge]"),
    volume: root.querySelector("[data-map-setting=volume_ml]"),
    volumeLabel: root.querySelector("[data-map-volume-label]"),
    undo: root.querySelector("[data-map-action=undo]"),
  };
  var mode = "point";
  var volumes = { point: root.dataset.pointVolume || "0.05", zone: root.dataset.zoneVolume || "0.5" };

  // The bar starts from the chart's own technique, depth and needle (the "How" section).
  function chartValue(name, fallback) {
    var input = document.getElementById("id_" + name);
    return input && input.value ? input.value : fallback;
  }
  bar.technique.value = chartValue("technique", bar.technique.value);
  bar.depth.value = chartValue("depth_mm", bar.depth.value);
  bar.gauge.value = chartValue("needle_gauge", bar.gauge.value);
  bar.volume.value = volumes.point;

  function setting() {
    return {
      syringe: bar.syringe.value,
      technique: bar.technique.value,
      depth_mm: decimal(bar.depth.value, 1),
      needle_gauge: bar.gauge.value ? String(parseInt(bar.gauge.value, 10) || "") : "",
      volume_ml: decimal(bar.volume.value, 3),
    };
  }

  function setMode(wanted) {
    volumes[mode] = bar.volume.value;
    mode = wanted;
    bar.volume.value = volumes[mode];
    if (bar.volumeLabel) bar.volumeLabel.textContent = say(mode === "zone" ? "volume-zone" : "volume-point");
    root.classList.toggle("is-zone-mode", mode === "zone");
    root.querySelectorAll("[data-map-mode]").forEach(function (radio) {
      radio.checked = radio.value === mode;
    });
  }
  root.querySelectorAll("[data-map-mode]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      if (radio.checked) setMode(radio.value);
    });
  });

  function problemsOfSetting(values) {
    if (!values.syringe || !syringeOf(values.syringe)) return say("need-syringe");
    if (!(microlitres(values.volume_ml) > 0)) return say("need-volume");
    if (!values.depth_mm) return say("need-depth");
    if (!values.technique) return say("need-technique");
    return "";
  }

  // --- Geometry ---------------------------------------------------------------------------------

  function toDiagram(svg, clientX, clientY) {
    var matrix = svg.getScreenCTM();
    if (!matrix) return null;
    var point = svg.createSVGPoint();
    point.x = clientX;
    point.y = clientY;
    var found = point.matrixTransform(matrix.inverse());
    return { x: found.x, y: found.y };
  }

  function inRegion(region, x, y) {
    if (typeof region.isPointInFill !== "function") return false;
    var point = region.ownerSVGElement.createSVGPoint();
    point.x = x;
    point.y = y;
    var own = region.getCTM && region.getCTM();
    var top = region.ownerSVGElement.getCTM && region.ownerSVGElement.getCTM();
    if (own && top) point = point.matrixTransform(own.inverse().multiply(top));
    try {
      return region.isPointInFill(point);
    } catch (error) {
      return false;
    }
  }

  // The region under a spot: the last drawn (the most specific, drawn over the larger one).
  function regionAt(diagram, x, y) {
    for (var i = diagram.regions.length - 1; i >= 0; i--) {
      if (inRegion(diagram.regions[i], x, y)) return diagram.regions[i];
    }
    return null;
  }
  function areaAt(diagram, x, y) {
    var region = regionAt(diagram, x, y);
    return region ? region.dataset.area : diagram.defaultArea;
  }

  function centroid(outline) {
    var area = 0;
    var cx = 0;
    var cy = 0;
    for (var i = 0; i < outline.length; i++) {
      var a = outline[i];
      var b = outline[(i + 1) % outline.length];
      var cross = a[0] * b[1] - b[0] * a[1];
      area += cross;
      cx += (a[0] + b[0]) * cross;
      cy += (a[1] + b[1]) * cross;
    }
    if (Math.abs(area) < 1e-6) {
      var sx = 0;
      var sy = 0;
      outline.forEach(function (p) {
        sx += p[0];
        sy += p[1];
      });
      return [sx / outline.length, sy / outline.length];
    }
    return [cx / (3 * area), cy / (3 * area)];
  }

  // Ramer-Douglas-Peucker: a painted outline keeps its shape with far fewer corners.
  function simplify(points, tolerance) {
    if (points.length < 3) return points;
    var keep = new Array(points.length);
    keep[0] = keep[points.length - 1] = true;
    var stack = [[0, points.length - 1]];
    while (stack.length) {
      var span = stack.pop();
      var a = points[span[0]];
      var b = points[span[1]];
      var far = -1;
      var farthest = tolerance;
      for (var i = span[0] + 1; i < span[1]; i++) {
        var d = distanceToSegment(points[i], a, b);
        if (d > farthest) {
          farthest = d;
          far = i;
        }
      }
      if (far > 0) {
        keep[far] = true;
        stack.push([span[0], far], [far, span[1]]);
      }
    }
    return points.filter(function (_p, index) {
      return keep[index];
    });
  }
  function distanceToSegment(p, a, b) {
    var dx = b[0] - a[0];
    var dy = b[1] - a[1];
    var length = dx * dx + dy * dy;
    var t = length ? clamp(((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length, 0, 1) : 0;
    var x = a[0] + t * dx - p[0];
    var y = a[1] + t * dy - p[1];
    return Math.sqrt(x * x + y * y);
  }

  // The middle of a region, inside it (a crescent's box centre is not), for points added from
  // the list; `count` spots around it, a little apart, so they can be told apart on the diagram.
  function spotsIn(diagram, region, count) {
    var box;
    try {
      box = region ? region.getBBox() : null;
    } catch (error) {
      box = null;
    }
    if (!box || !box.width) box = { x: 0, y: 0, width: diagram.width, height: diagram.height };
    var centre = [box.x + box.width / 2, box.y + box.height / 2];
    var inside = function (x, y) {
      return !region || inRegion(region, x, y);
    };
    var anchor = region && diagram.anchors[region.id]; // the registry's point well inside it
    if (anchor && anchor.length === 2) centre = [number(anchor[0]), number(anchor[1])];
    else if (!inside(centre[0], centre[1])) {
      var best = null;
      for (var gx = 0; gx <= 10; gx++) {
        for (var gy = 0; gy <= 10; gy++) {
          var x = box.x + (box.width * gx) / 10;
          var y = box.y + (box.height * gy) / 10;
          var d = Math.pow(x - centre[0], 2) + Math.pow(y - centre[1], 2);
          if (inside(x, y) && (!best || d < best[2])) best = [x, y, d];
        }
      }
      if (best) centre = [best[0], best[1]];
    }
    var spots = [];
    var step = 2.2;
    for (var n = 0, tries = 0; spots.length < count && tries < count * 20; tries++, n++) {
      // A sunflower spiral: even spacing, however many.
      var radius = step * Math.sqrt(n) * 0.9;
      var angle = n * 2.39996;
      var sx = centre[0] + radius * Math.cos(angle);
      var sy = centre[1] + radius * Math.sin(angle);
      if (n === 0 || inside(sx, sy) || tries > count * 10) spots.push([sx, sy]);
    }
    return spots.map(function (spot) {
      return [round1(clamp(spot[0], 0, diagram.width)), round1(clamp(spot[1], 0, diagram.height))];
    });
  }

  // --- Changing the map ---------------------------------------------------------------------

  function addPoint(diagram, x, y, values, shape, outline) {
    var point = {
      syringe: values.syringe,
      diagram: diagram.code,
      area: areaAt(diagram, x, y),
      shape: shape || "point",
      x: round1(clamp(x, 0, diagram.width)),
      y: round1(clamp(y, 0, diagram.height)),
      outline: outline || [],
      depth_mm: values.depth_mm,
      technique: values.technique,
      needle_gauge: values.needle_gauge,
      volume_ml: values.volume_ml,
    };
    state.points.push(point);
    return state.points.length - 1;
  }

  function tapAdd(diagram, spot) {
    var values = setting();
    var problem = problemsOfSetting(values);
    if (problem) return announce(problem, true);
    snapshot();
    var index = addPoint(diagram, spot.x, spot.y, values);
    changed();
    announce(say("added", { n: index + 1, area: areaName(state.points[index].area) }));
  }

  function paintAdd(diagram, stroke) {
    var values = setting();
    var problem = problemsOfSetting(values);
    if (problem) return announce(problem, true);
    var outline = simplify(stroke, 0.6);
    while (outline.length > MAX_OUTLINE) outline = simplify(outline, 1.5 * (outline.length / MAX_OUTLINE));
    outline = outline.map(function (p) {
      return [round1(clamp(p[0], 0, diagram.width)), round1(clamp(p[1], 0, diagram.height))];
    });
    var middle = centroid(outline);
    snapshot();
    var index = addPoint(diagram, middle[0], middle[1], values, "zone", outline);
    if (!regionAt(diagram, middle[0], middle[1])) {
      // The middle of a crescent-shaped stroke can fall outside every region: the region most of
      // the outline lies in names the area.
      var votes = {};
      outline.forEach(function (p) {
        var area = areaAt(diagram, p[0], p[1]);
        votes[area] = (votes[area] || 0) + 1;
      });
      var best = Object.keys(votes).sort(function (a, b) {
        return votes[b] - votes[a];
      })[0];
      if (best) state.points[index].area = best;
    }
    changed();
    announce(say("zone-added", { n: index + 1, area: areaName(state.points[index].area) }));
  }

  function removePoint(index) {
    if (index < 0 || index >= state.points.length) return;
    snapshot();
    state.points.splice(index, 1);
    if (selected === index) selected = -1;
    else if (selected > index) selected -= 1;
    changed();
    announce(say("deleted", { n: index + 1 }));
  }

  function takeBack() {
    if (!undo.length) return;
    state = JSON.parse(undo.pop());
    selected = -1;
    renderSyringes();
    changed();
    announce(say("undone"));
  }

  // --- Drawing the marks --------------------------------------------------------------------

  function mark(tag, attributes) {
    var el = document.createElementNS(SVG, tag);
    Object.keys(attributes).forEach(function (name) {
      el.setAttribute(name, attributes[name]);
    });
    return el;
  }

  function drawMarks() {
    var layers = {};
    codes.forEach(function (code) {
      layers[code] = document.createDocumentFragment();
    });
    state.points.forEach(function (point, index) {
      var frame = layers[point.diagram];
      if (!frame) return;
      var colour = "map-syr-" + (syringeIndex(point.syringe) % COLOURS);
      var classes = ["map-mark", colour];
      if (number(point.depth_mm) > 1.5) classes.push("is-deep");
      if (index === selected) classes.push("is-selected");
      var group = mark("g", { class: classes.join(" "), "data-index": index });
      var label = String(index + 1);
      var at = [point.x, point.y];
      if (point.shape === "zone" && point.outline.length >= 3) {
        group.classList.add("is-zone");
        group.appendChild(
          mark("polygon", {
            class: "map-zone",
            points: point.outline
              .map(function (p) {
                return p[0] + "," + p[1];
              })
              .join(" "),
          })
        );
      }
      group.appendChild(mark("circle", { class: "map-dot", cx: at[0], cy: at[1], r: 1.7 }));
      var number_ = mark("text", {
        class: "map-number" + (label.length > 2 ? " is-long" : ""),
        x: at[0],
        y: at[1],
        "text-anchor": "middle",
        "dominant-baseline": "central",
      });
      number_.textContent = label;
      group.appendChild(number_);
      frame.appendChild(group);
    });
    codes.forEach(function (code) {
      var layer = diagrams[code].layer;
      while (layer.firstChild) layer.removeChild(layer.firstChild);
      layer.appendChild(layers[code]);
    });
  }

  // --- Tabs ----------------------------------------------------------------------------------

  function show(code, focus) {
    if (!diagrams[code]) return;
    current = code;
    tabs.forEach(function (tab) {
      var on = tab.dataset.diagram === code;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      tab.classList.toggle("active", on);
      if (on && focus) tab.focus();
      if (on && tab.scrollIntoView && tab.parentNode.scrollWidth > tab.parentNode.clientWidth) {
        tab.scrollIntoView({ block: "nearest", inline: "nearest" });
      }
    });
    codes.forEach(function (other) {
      panels[other].hidden = other !== code;
    });
  }
  tabs.forEach(function (tab, index) {
    tab.addEventListener("click", function () {
      show(tab.dataset.diagram);
    });
    tab.addEventListener("keydown", function (event) {
      var step = { ArrowRight: 1, ArrowLeft: -1, Home: -index, End: tabs.length - 1 - index }[event.key];
      if (step === undefined) return;
      event.preventDefault();
      show(tabs[(index + step + tabs.length) % tabs.length].dataset.diagram, true);
    });
  });

  // --- Pointer: tap a point, paint a zone -------------------------------------------------------

  var gesture = null;
  codes.forEach(function (code) {
    var diagram = diagrams[code];
    var svg = diagram.svg;
    svg.addEventListener("pointerdown", function (event) {
      if (event.button !== 0 || gesture) return;
      var spot = toDiagram(svg, event.clientX, event.clientY);
      if (!spot) return;
      var hit = event.target.closest && event.target.closest(".map-mark");
      gesture = {
        id: event.pointerId,
        diagram: diagram,
        startX: event.clientX,
        startY: event.clientY,
        hit: hit ? Number(hit.dataset.index) : -1,
        stroke: mode === "zone" ? [[spot.x, spot.y]] : null,
        line: null,
      };
      if (mode === "zone") {
        event.preventDefault();
        try {
          svg.setPointerCapture(event.pointerId);
        } catch (error) {
          // a synthetic pointer cannot be captured: the stroke still follows it over the svg
        }
      }
    });
    svg.addEventListener("pointermove", function (event) {
      if (!gesture || gesture.id !== event.pointerId || !gesture.stroke) return;
      var spot = toDiagram(svg, event.clientX, event.clientY);
      if (!spot) return;
      var last = gesture.stroke[gesture.stroke.length - 1];
      if (Math.abs(spot.x - last[0]) + Math.abs(spot.y - last[1]) < STROKE_STEP) return;
      gesture.stroke.push([spot.x, spot.y]);
      if (!gesture.line) {
        gesture.line = mark("polyline", { class: "map-stroke" });
        diagram.layer.appendChild(gesture.line);
      }
      gesture.line.setAttribute(
        "points",
        gesture.stroke
          .map(function (p) {
            return p[0] + "," + p[1];
          })
          .join(" ")
      );
    });
    svg.addEventListener("pointerup", function (event) {
      if (!gesture || gesture.id !== event.pointerId) return;
      var done = gesture;
      gesture = null;
      if (done.line) done.line.remove();
      var moved = Math.abs(event.clientX - done.startX) + Math.abs(event.clientY - done.startY);
      if (done.stroke && done.stroke.length >= 4 && spanOf(done.stroke) > 3) {
        paintAdd(diagram, done.stroke);
      } else if (moved <= TAP_SLOP_PX) {
        if (done.hit >= 0) return select(done.hit);
        if (mode === "zone") return announce(say("zone-hint"));
        var spot = toDiagram(svg, event.clientX, event.clientY);
        if (spot) tapAdd(diagram, spot);
      }
    });
    svg.addEventListener("pointercancel", function (event) {
      if (gesture && gesture.id === event.pointerId) {
        if (gesture.line) gesture.line.remove();
        gesture = null;
      }
    });
  });
  function spanOf(stroke) {
    var xs = stroke.map(function (p) {
      return p[0];
    });
    var ys = stroke.map(function (p) {
      return p[1];
    });
    return Math.max(Math.max.apply(null, xs) - Math.min.apply(null, xs), Math.max.apply(null, ys) - Math.min.apply(null, ys));
  }

  // --- The selected point: change it or delete it ----------------------------------------------

  var edit = {
    box: root.querySelector("#map-edit"),
    title: root.querySelector("#map-edit-title"),
    fields: {},
  };
  root.querySelectorAll("[data-map-edit]").forEach(function (input) {
    edit.fields[input.dataset.mapEdit] = input;
  });
  var returnFocus = null;

  function select(index, focusFrom) {
    selected = index;
    var point = state.points[index];
    if (!point) {
      selected = -1;
      edit.box.hidden = true;
      drawMarks();
      return;
    }
    if (point.diagram !== current) show(point.diagram);
    returnFocus = focusFrom || null;
    refreshEdit();
    drawMarks();
    markRows();
    if (focusFrom) edit.fields.syringe.focus();
  }
  // The edit box shows the selected point as it now stands.
  function refreshEdit() {
    var point = state.points[selected];
    if (!point) {
      edit.box.hidden = true;
      return;
    }
    var index = selected;
    edit.title.textContent = say(point.shape === "zone" ? "zone-n" : "point-n", { n: index + 1 });
    fillSyringeSelect(edit.fields.syringe, point.syringe);
    fillAreaSelect(edit.fields.area, diagrams[point.diagram], point.area);
    edit.fields.technique.value = point.technique;
    edit.fields.depth_mm.value = point.depth_mm;
    edit.fields.needle_gauge.value = point.needle_gauge;
    edit.fields.volume_ml.value = point.volume_ml;
    edit.box.hidden = false;
  }
  function fillAreaSelect(select, diagram, value) {
    while (select.options.length) select.remove(0);
    var offered = diagram ? diagram.areas.slice() : [];
    if (value && offered.indexOf(value) < 0) offered.push(value);
    offered.forEach(function (code) {
      select.add(new Option(areaName(code), code));
    });
    select.value = value;
  }
  function deselect() {
    selected = -1;
    edit.box.hidden = true;
    drawMarks();
    markRows();
    if (returnFocus && document.body.contains(returnFocus)) returnFocus.focus();
    returnFocus = null;
  }
  Object.keys(edit.fields).forEach(function (name) {
    edit.fields[name].addEventListener("change", function () {
      var point = state.points[selected];
      if (!point) return;
      var value = edit.fields[name].value;
      if (name === "depth_mm") value = decimal(value, 1);
      if (name === "volume_ml") value = decimal(value, 3);
      if (name === "needle_gauge") value = value ? String(parseInt(value, 10) || "") : "";
      if (point[name] === value) return;
      snapshot();
      point[name] = value;
      changed();
    });
  });

  // --- Syringes ---------------------------------------------------------------------------------

  var syringeList = root.querySelector("#map-syringe-list");
  var templates = {
    syringe: root.querySelector("#map-tpl-syringe"),
    component: root.querySelector("#map-tpl-component"),
  };
  var uid = 0;
  var openKey = null; // the syringe being prepared stays open while the builder is redrawn

  function nextLabel() {
    var used = {};
    state.syringes.forEach(function (syringe) {
      used[syringe.label.toUpperCase()] = true;
    });
    for (var code = 65; code <= 90; code++) {
      if (!used[String.fromCharCode(code)]) return String.fromCharCode(code);
    }
    return String(state.syringes.length + 1);
  }

  function firstLot(productPk) {
    var lots = lotsByProduct[productPk] || [];
    return lots.length ? lots[0] : null;
  }

  function newComponent(productPk, percent) {
    var lot = productPk ? firstLot(productPk) : null;
    return {
      product: productPk || "",
      lot: lot ? lot.lot : "",
      expires_on: "",
      percent: percent === undefined ? "" : String(percent),
      typed: !!productPk && !lot,
    };
  }

  // Shares that add up to 100: 50/50, 34/33/33.
  function evenShares(count) {
    var shares = [];
    var base = Math.floor(100 / count);
    for (var i = 0; i < count; i++) shares.push(base + (i < 100 - base * count ? 1 : 0));
    return shares;
  }

  function starterSyringe() {
    var planned = products.filter(function (product) {
      return product.planned;
    });
    var shares = evenShares(Math.max(planned.length, 1));
    return {
      key: newKey(),
      label: nextLabel(),
      components: planned.length
        ? planned.map(function (product, index) {
            return newComponent(product.pk, shares[index]);
          })
        : [newComponent("", 100)],
    };
  }

  function percentTotal(syringe) {
    return syringe.components.reduce(function (sum, part) {
      return sum + Math.round((number(part.percent) || 0) * 100);
    }, 0);
  }

  function syringeProblem(syringe) {
    if (!syringe.label.trim()) return say("syringe-needs-label");
    var twice = state.syringes.filter(function (other) {
      return other.label.trim().toUpperCase() === syringe.label.trim().toUpperCase();
    }).length;
    if (twice > 1) return say("syringe-label-twice", { label: syringe.label });
    for (var i = 0; i < syringe.components.length; i++) {
      var part = syringe.components[i];
      if (!part.lot.trim()) return say("component-needs-lot", { n: i + 1 });
      if (part.typed && (!part.product || !part.expires_on) && !knownLot(part.lot))
        return say("component-new-lot", { lot: part.lot });
      if (!(number(part.percent) > 0)) return say("component-needs-percent", { n: i + 1 });
    }
    var total = percentTotal(syringe);
    if (total !== 10000) return say("percent-not-100", { total: decimal(total / 100, 2) });
    return "";
  }
  function knownLot(lot) {
    var wanted = lot.trim().toUpperCase();
    return Object.keys(lotsByProduct).some(function (pk) {
      return lotsByProduct[pk].some(function (entry) {
        return entry.lot.toUpperCase() === wanted;
      });
    });
  }

  function syringeSummary(syringe) {
    return syringe.components
      .map(function (part) {
        var name = productName(part.product) || say("unknown-product");
        return name + (part.lot ? " " + part.lot : "") + " " + (part.percent || "?") + " %";
      })
      .join(" + ");
  }

  function cloneTemplate(template) {
    var node = template.content.firstElementChild.cloneNode(true);
    uid += 1;
    node.querySelectorAll("[id]").forEach(function (el) {
      el.id = el.id.replace("__", "-" + uid);
    });
    node.querySelectorAll("[for]").forEach(function (el) {
      el.setAttribute("for", el.getAttribute("for").replace("__", "-" + uid));
    });
    node.querySelectorAll("[aria-describedby]").forEach(function (el) {
      el.setAttribute("aria-describedby", el.getAttribute("aria-describedby").replace("__", "-" + uid));
    });
    return node;
  }

  function fillLotSelect(select, part) {
    while (select.options.length) select.remove(0);
    var lots = lotsByProduct[part.product] || [];
    lots.forEach(function (entry) {
      var option = new Option(entry.label, entry.lot);
      select.add(option);
    });
    select.add(new Option(say("other-lot"), ""));
    var match = lots.filter(function (entry) {
      return entry.lot.toUpperCase() === part.lot.toUpperCase();
    })[0];
    select.value = !part.typed && match ? match.lot : "";
  }

  function renderComponent(syringe, part, index, parts) {
    var node = cloneTemplate(templates.component);
    var product = node.querySelector("[data-part=product]");
    var lot = node.querySelector("[data-part=lot]");
    var typedLot = node.querySelector("[data-part=typed-lot]");
    var expires = node.querySelector("[data-part=expires]");
    var percent = node.querySelector("[data-part=percent]");
    var typedBox = node.querySelector("[data-part=typed]");
    node.querySelectorAll("[data-part-n]").forEach(function (el) {
      el.textContent = say(el.dataset.partN, { n: index + 1 });
    });
    products.forEach(function (entry) {
      product.add(new Option(entry.name, entry.pk));
    });
    product.value = part.product;
    fillLotSelect(lot, part);
    typedLot.value = part.typed ? part.lot : "";
    expires.value = part.expires_on;
    percent.value = part.percent;
    typedBox.hidden = !(part.typed || !(lotsByProduct[part.product] || []).length);
    if (!(lotsByProduct[part.product] || []).length) {
      part.typed = true;
      lot.hidden = true;
      lot.closest("[data-part=lot-box]").hidden = true;
    }

    function update(apply) {
      snapshot();
      apply();
      changed({ syringes: true });
    }
    product.addEventListener("change", function () {
      update(function () {
        part.product = product.value;
        var first = firstLot(part.product);
        part.lot = first ? first.lot : "";
        part.typed = !first;
        part.expires_on = "";
      });
      renderSyringes(node, "[data-part=product]");
    });
    lot.addEventListener("change", function () {
      update(function () {
        part.typed = lot.value === "";
        part.lot = part.typed ? typedLot.value.trim().toUpperCase() : lot.value;
        typedBox.hidden = !part.typed;
      });
      if (part.typed) typedLot.focus();
    });
    typedLot.addEventListener("change", function () {
      update(function () {
        part.lot = typedLot.value.trim().toUpperCase();
        typedLot.value = part.lot;
      });
    });
    expires.addEventListener("change", function () {
      update(function () {
        part.expires_on = expires.value;
      });
    });
    percent.addEventListener("change", function () {
      update(function () {
        part.percent = decimal(percent.value, 2);
      });
    });
    node.querySelector("[data-part=remove]").addEventListener("click", function () {
      if (syringe.components.length < 2) return;
      update(function () {
        syringe.components.splice(index, 1);
      });
      renderSyringes(parts.closest("[data-syringe]"), "[data-syringe-action=add-component]");
    });
    node.querySelector("[data-part=remove]").hidden = syringe.components.length < 2;
    node.querySelector("[data-part=remove]").setAttribute("aria-label", say("remove-n", { n: index + 1 }));
    return node;
  }

  function renderSyringes(focusWithin, focusSelector) {
    var focusKey = focusWithin && focusWithin.closest("[data-syringe]")
      ? focusWithin.closest("[data-syringe]").dataset.syringe
      : null;
    var focusPart = focusWithin && focusWithin.dataset && focusWithin.dataset.partIndex;
    while (syringeList.firstChild) syringeList.removeChild(syringeList.firstChild);
    state.syringes.forEach(function (syringe) {
      var node = cloneTemplate(templates.syringe);
      node.dataset.syringe = syringe.key;
      node.open = !!syringeProblem(syringe) || syringe.key === (focusKey || openKey);
      node.classList.add("map-syr-" + (syringeIndex(syringe.key) % COLOURS));
      var label = node.querySelector("[data-syringe-part=label]");
      label.value = syringe.label;
      label.addEventListener("change", function () {
        var value = label.value.trim().toUpperCase().slice(0, 20);
        if (value === syringe.label) return;
        snapshot();
        syringe.label = value;
        label.value = value;
        changed({ syringes: true });
      });
      node.addEventListener("toggle", function () {
        if (node.open) openKey = syringe.key;
        else if (openKey === syringe.key) openKey = null;
      });
      var parts = node.querySelector("[data-syringe-part=components]");
      syringe.components.forEach(function (part, index) {
        var row = renderComponent(syringe, part, index, parts);
        row.dataset.partIndex = String(index);
        parts.appendChild(row);
      });
      node.querySelector("[data-syringe-action=add-component]").addEventListener("click", function () {
        snapshot();
        var left = 100 - percentTotal(syringe) / 100;
        syringe.components.push(newComponent("", left > 0 ? decimal(left, 2) : ""));
        changed({ syringes: true });
        renderSyringes(node, "[data-part-index='" + (syringe.components.length - 1) + "'] [data-part=product]");
      });
      var remove = node.querySelector("[data-syringe-action=remove]");
      var used = state.points.some(function (point) {
        return point.syringe === syringe.key;
      });
      remove.hidden = used || state.syringes.length < 2;
      remove.addEventListener("click", function () {
        snapshot();
        state.syringes.splice(syringeIndex(syringe.key), 1);
        changed({ syringes: true });
        renderSyringes();
        root.querySelector("[data-map-action=add-syringe]").focus();
      });
      syringeList.appendChild(node);
    });
    showSyringeProblems();
    fillSyringeSelects();
    if (focusKey) {
      var again = syringeList.querySelector("[data-syringe='" + focusKey + "']");
      var target = again && focusSelector ? again.querySelector(focusSelector) : null;
      if (!target && again && focusPart !== undefined) {
        target = again.querySelector("[data-part-index='" + focusPart + "'] " + (focusSelector || "select"));
      }
      if (target) target.focus();
    }
  }

  function showSyringeProblems() {
    state.syringes.forEach(function (syringe) {
      var node = syringeList.querySelector("[data-syringe='" + syringe.key + "']");
      if (!node) return;
      var problem = syringeProblem(syringe);
      var out = node.querySelector("[data-syringe-part=problem]");
      out.textContent = problem || say("percent-ok");
      out.classList.toggle("is-problem", !!problem);
      node.querySelector("[data-syringe-part=total]").textContent = decimal(percentTotal(syringe) / 100, 2) + " %";
      node.querySelector("[data-syringe-part=name]").textContent = say("syringe-name", { label: syringe.label || "?" });
      node.querySelector("[data-syringe-part=what]").textContent = syringeSummary(syringe);
      node.classList.toggle("has-problem", !!problem);
    });
  }

  function fillSyringeSelect(select, value) {
    if (!select) return;
    var keep = value === undefined ? select.value : value;
    while (select.options.length) select.remove(0);
    state.syringes.forEach(function (syringe) {
      select.add(new Option(say("syringe-option", { label: syringe.label || "?", what: syringeSummary(syringe) }), syringe.key));
    });
    select.value = syringeOf(keep) ? keep : state.syringes.length ? state.syringes[0].key : "";
  }
  function fillSyringeSelects() {
    fillSyringeSelect(bar.syringe);
    fillSyringeSelect(list.syringe);
    if (selected >= 0 && state.points[selected]) fillSyringeSelect(edit.fields.syringe, state.points[selected].syringe);
  }

  root.querySelector("[data-map-action=add-syringe]").addEventListener("click", function () {
    snapshot();
    var made = starterSyringe();
    made.components = [newComponent("", 100)];
    state.syringes.push(made);
    openKey = made.key;
    changed({ syringes: true });
    renderSyringes();
    bar.syringe.value = made.key;
    var node = syringeList.querySelector("[data-syringe='" + made.key + "'] [data-part=product]");
    if (node) node.focus();
  });

  // --- Adding points from the list (keyboard and screen readers) --------------------------------

  var list = {
    diagram: root.querySelector("[data-map-list=diagram]"),
    region: root.querySelector("[data-map-list=region]"),
    syringe: root.querySelector("[data-map-list=syringe]"),
    technique: root.querySelector("[data-map-list=technique]"),
    depth: root.querySelector("[data-map-list=depth_mm]"),
    gauge: root.querySelector("[data-map-list=needle_gauge]"),
    volume: root.querySelector("[data-map-list=volume_ml]"),
    count: root.querySelector("[data-map-list=count]"),
    add: root.querySelector("[data-map-action=add-from-list]"),
    problem: root.querySelector("#map-list-problem"),
  };
  list.technique.value = bar.technique.value;
  list.depth.value = bar.depth.value;
  list.gauge.value = bar.gauge.value;
  list.volume.value = volumes.point;

  function regionName(diagram, region) {
    if (diagram.regionTitles[region.id]) return diagram.regionTitles[region.id];
    var title = region.querySelector("title");
    var name = region.getAttribute("aria-label") || region.dataset.label || (title && title.textContent) || "";
    if (!name) name = (region.id || "").replace(/^region-/, "").replace(/[-_]+/g, " ");
    return name.trim();
  }

  function fillRegions() {
    var diagram = diagrams[list.diagram.value];
    while (list.region.options.length) list.region.remove(0);
    if (!diagram) return;
    diagram.regions.forEach(function (region, index) {
      var name = regionName(diagram, region);
      var area = areaName(region.dataset.area);
      var label = name && name.toLowerCase() !== area.toLowerCase() ? name + " (" + area + ")" : area;
      list.region.add(new Option(label, String(index)));
    });
    if (!diagram.regions.length) list.region.add(new Option(areaName(diagram.defaultArea), ""));
  }
  list.diagram.addEventListener("change", fillRegions);

  function addFromList() {
    var diagram = diagrams[list.diagram.value];
    var values = {
      syringe: list.syringe.value,
      technique: list.technique.value,
      depth_mm: decimal(list.depth.value, 1),
      needle_gauge: list.gauge.value ? String(parseInt(list.gauge.value, 10) || "") : "",
      volume_ml: decimal(list.volume.value, 3),
    };
    var count = parseInt(list.count.value, 10);
    var problem = !diagram ? say("need-diagram") : problemsOfSetting(values);
    if (!problem && !(count >= 1 && count <= 100)) problem = say("need-count");
    list.problem.textContent = problem;
    list.problem.hidden = !problem;
    if (problem) return announce(problem, true);
    show(diagram.code); // drawn, so that its regions can be measured
    var region = list.region.value === "" ? null : diagram.regions[Number(list.region.value)];
    var spots = spotsIn(diagram, region, count);
    snapshot();
    var first = state.points.length + 1;
    spots.forEach(function (spot) {
      var index = addPoint(diagram, spot[0], spot[1], values);
      if (region) state.points[index].area = region.dataset.area;
    });
    changed();
    var area = region ? region.dataset.area : diagram.defaultArea;
    announce(
      count === 1
        ? say("added", { n: first, area: areaName(area) })
        : say("added-many", { first: first, last: first + count - 1, area: areaName(area) })
    );
  }
  list.add.addEventListener("click", addFromList);

  // --- The table of every point -----------------------------------------------------------------

  var rows = root.querySelector("#map-rows");
  var rowTemplate = root.querySelector("#map-tpl-row");
  var empty = root.querySelector("#map-empty");

  function renderRows() {
    var frame = document.createDocumentFragment();
    state.points.forEach(function (point, index) {
      var row = rowTemplate.content.firstElementChild.cloneNode(true);
      row.removeChild(row.querySelector("td[hidden]")); // the notes' source, not a cell
      var syringe = syringeOf(point.syringe);
      var cells = {
        n: String(index + 1),
        diagram: diagrams[point.diagram] ? diagrams[point.diagram].title : point.diagram,
        area: areaName(point.area),
        shape: say(point.shape === "zone" ? "shape-zone" : "shape-point"),
        syringe: syringe ? syringe.label : "?",
        depth: point.depth_mm ? point.depth_mm + " mm" : "—",
        technique: techniqueNames[point.technique] || point.technique || "—",
        gauge: point.needle_gauge ? point.needle_gauge + " G" : "—",
        volume: point.volume_ml ? point.volume_ml + " ml" : "—",
      };
      row.querySelectorAll("[data-cell]").forEach(function (cell) {
        cell.textContent = cells[cell.dataset.cell];
      });
      row.dataset.index = String(index);
      row.querySelector("[data-row-action=edit]").setAttribute("aria-label", say("edit-n", { n: index + 1 }));
      row.querySelector("[data-row-action=delete]").setAttribute("aria-label", say("delete-n", { n: index + 1 }));
      if (index === selected) row.classList.add("is-selected");
      var note = !touched && noted[index + 1];
      if (note) {
        row.classList.add(note === "problem" ? "has-problem" : "has-flag");
        var mark = rowTemplate.content.querySelector("[data-note=" + note + "]");
        if (mark) row.querySelector("[data-cell=n]").appendChild(mark.cloneNode(true));
      }
      frame.appendChild(row);
    });
    while (rows.firstChild) rows.removeChild(rows.firstChild);
    rows.appendChild(frame);
    empty.hidden = state.points.length > 0;
  }
  function markRows() {
    rows.querySelectorAll("tr").forEach(function (row) {
      row.classList.toggle("is-selected", Number(row.dataset.index) === selected);
    });
  }
  rows.addEventListener("click", function (event) {
    var button = event.target.closest("[data-row-action]");
    if (!button) return;
    var index = Number(button.closest("tr").dataset.index);
    if (button.dataset.rowAction === "edit") return select(index, button);
    removePoint(index);
    var next = rows.querySelector("tr[data-index='" + Math.min(index, state.points.length - 1) + "'] [data-row-action=delete]");
    (next || root.querySelector("#map-table-caption") || list.add).focus();
  });

  // --- Totals per area and per product -----------------------------------------------------------

  var totalsBox = root.querySelector("#map-totals");
  var totalsTemplate = root.querySelector("#map-tpl-totals");

  function totals() {
    var areas = {};
    var areaOrder = [];
    var byProduct = {};
    var productOrder = [];
    var all = 0;
    state.points.forEach(function (point) {
      var ul = microlitres(point.volume_ml);
      all += ul;
      if (!areas[point.area]) {
        areas[point.area] = { ul: 0, count: 0 };
        areaOrder.push(point.area);
      }
      areas[point.area].ul += ul;
      areas[point.area].count += 1;
      var syringe = syringeOf(point.syringe);
      (syringe ? syringe.components : []).forEach(function (part) {
        var key = part.product || "lot:" + part.lot;
        if (!byProduct[key]) {
          byProduct[key] = { name: productName(part.product) || say("unknown-product"), ul: 0, lots: {} };
          productOrder.push(key);
        }
        var share = (ul * (number(part.percent) || 0)) / 100;
        byProduct[key].ul += share;
        byProduct[key].lots[part.lot || "?"] = (byProduct[key].lots[part.lot || "?"] || 0) + share;
      });
    });
    return { areas: areas, areaOrder: areaOrder, products: byProduct, productOrder: productOrder, all: all };
  }

  function renderTotals() {
    var sums = totals();
    var node = totalsTemplate.content.firstElementChild.cloneNode(true);
    var areaList = node.querySelector("[data-totals=areas]");
    var productList = node.querySelector("[data-totals=products]");
    sums.areaOrder.forEach(function (code) {
      var item = document.createElement("li");
      item.textContent = say("area-total", {
        area: areaName(code),
        ml: ml(upToCent(sums.areas[code].ul)),
        count: sums.areas[code].count,
      });
      areaList.appendChild(item);
    });
    sums.productOrder.forEach(function (key) {
      var entry = sums.products[key];
      var item = document.createElement("li");
      var total = 0;
      var lots = Object.keys(entry.lots)
        .map(function (lot) {
          var used = upToCent(entry.lots[lot]);
          total += used;
          return say("lot-total", { lot: lot, ml: ml(used) });
        })
        .join(", ");
      item.textContent = say("product-total", { product: entry.name, ml: ml(total), lots: lots });
      productList.appendChild(item);
    });
    node.querySelector("[data-totals=all]").textContent = say("all-total", {
      ml: ml(upToCent(sums.all)),
      count: state.points.length,
    });
    node.querySelectorAll("[data-totals-empty]").forEach(function (el) {
      el.hidden = state.points.length > 0;
    });
    node.querySelector("[data-totals-some]").hidden = !state.points.length;
    while (totalsBox.firstChild) totalsBox.removeChild(totalsBox.firstChild);
    totalsBox.appendChild(node);
  }

  // --- Keeping everything in step ----------------------------------------------------------------

  var started = false;
  var touched = false; // once changed, the server's problems and flags no longer match the numbers
  var noted = {}; // point number -> "problem" or "flag", as the page was sent
  (page.flags || []).forEach(function (flag) {
    (flag.points || []).forEach(function (n) {
      noted[n] = noted[n] || "flag";
    });
  });
  (page.problems || []).forEach(function (problem) {
    if (problem.point) noted[problem.point] = "problem";
  });
  var statusBox = root.querySelector("#map-status");
  function announce(message, problem) {
    statusBox.textContent = message;
    statusBox.classList.toggle("is-problem", !!problem);
  }

  // The chart's area and product fields are worked out from the map once it has points: they
  // step aside (still posted, as they were) and say so.
  function showDerived() {
    var derived = state.points.length > 0;
    document.querySelectorAll("[data-map-derived]").forEach(function (card) {
      var body = card.querySelector("[data-map-derived-body]");
      var note = card.querySelector("[data-map-derived-note]");
      var invalid = body && body.querySelector(".is-invalid, .invalid-feedback, .alert-danger");
      if (note) note.hidden = !derived;
      if (body && !invalid) body.hidden = derived && !card.classList.contains("is-shown");
    });
  }
  document.querySelectorAll("[data-map-derived-toggle]").forEach(function (button) {
    button.addEventListener("click", function () {
      var card = button.closest("[data-map-derived]");
      card.classList.toggle("is-shown");
      button.setAttribute("aria-expanded", card.classList.contains("is-shown") ? "true" : "false");
      showDerived();
    });
  });

  function counts() {
    var perDiagram = {};
    state.points.forEach(function (point) {
      perDiagram[point.diagram] = (perDiagram[point.diagram] || 0) + 1;
    });
    tabs.forEach(function (tab) {
      var count = perDiagram[tab.dataset.diagram] || 0;
      var out = tab.querySelector("[data-count]");
      if (out) out.textContent = count ? String(count) : "";
      tab.classList.toggle("has-points", count > 0);
    });
    codes.forEach(function (code) {
      diagrams[code].svg.setAttribute(
        "aria-label",
        say("diagram-label", { diagram: diagrams[code].title, count: perDiagram[code] || 0 })
      );
    });
  }

  function changed(what) {
    var begun = window.performance ? performance.now() : 0;
    // Without points there is no map to save: the chart's area and product rows say what was
    // done (a syringe being prepared is not refused for a lot not chosen yet).
    field.value = state.points.length ? JSON.stringify(serialise()) : "";
    if (selected >= state.points.length) selected = -1;
    refreshEdit();
    drawMarks();
    renderRows();
    renderTotals();
    counts();
    showDerived();
    if (what && what.syringes) {
      showSyringeProblems();
      fillSyringeSelects();
    }
    bar.undo.disabled = !undo.length;
    if (window.performance) root.dataset.changeMs = String(Math.round((performance.now() - begun) * 10) / 10);
    if (started) {
      touched = true;
      var stale = root.querySelector("[data-map-flags-stale]");
      if (stale) stale.hidden = false;
      document.body.dispatchEvent(new CustomEvent("map-changed", { bubbles: true }));
    }
  }

  // Enter in a field of the map would send the whole chart: it commits the field instead (and
  // adds the points in the list's row).
  root.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.target.tagName === "BUTTON" || event.target.tagName === "TEXTAREA") return;
    if (!event.target.closest("input, select")) return;
    event.preventDefault();
    event.target.dispatchEvent(new Event("change", { bubbles: true }));
    if (event.target.closest("[data-map-list-row]")) addFromList();
  });
  root.querySelector("[data-map-action=delete-selected]").addEventListener("click", function () {
    var index = selected;
    var back = returnFocus;
    removePoint(index);
    edit.box.hidden = true;
    returnFocus = null;
    if (back && document.body.contains(back)) back.focus();
    else if (current) tabs[codes.indexOf(current)].focus();
  });
  root.querySelector("[data-map-action=deselect]").addEventListener("click", deselect);
  bar.undo.addEventListener("click", takeBack);

  // --- Start -------------------------------------------------------------------------------

  state = readField();
  if (!state.syringes.length) state.syringes.push(starterSyringe());
  var firstRelevant = tabs.filter(function (tab) {
    return tab.classList.contains("is-relevant") && diagrams[tab.dataset.diagram];
  })[0];
  var start = state.points.length ? state.points[0].diagram : firstRelevant ? firstRelevant.dataset.diagram : codes[0];
  show(diagrams[start] ? start : codes[0]);
  list.diagram.value = current;
  fillRegions();
  renderSyringes();
  root.hidden = false;
  root.classList.add("is-ready");
  changed({ syringes: true });
  started = true;
  bar.undo.disabled = true;
  // For the render-time measurement (tests/e2e/test_injection_map_e2e.py): when everything is
  // drawn, in ms since the page began to load, and how long the script itself took.
  root.dataset.drawnPoints = String(state.points.length);
  if (window.performance) {
    root.dataset.scriptMs = String(Math.round(performance.now() - startedAt));
    // Two frames later the marks have been laid out and painted.
    requestAnimationFrame(function () {
      requestAnimationFrame(function () {
        root.dataset.drawnAt = String(Math.round(performance.now()));
      });
    });
  }
  }
})();
