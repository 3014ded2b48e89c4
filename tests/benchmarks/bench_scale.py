"""Pages that must stay flat as history grows (issue 19): ten years of a clinic chain against a
tenth of it. Each page's median server time must be at most 15 ms on the chain, at most 1.25
times the same page on the tenth, and its query count the same on both.

`run(report)` measures the current database (seeded with `seed_demo --scale`); `run.py scale`
seeds and measures both databases, each in a process of its own (a Django process holds one
database), and prints them side by side with `compare`.
"""

import datetime
import time

TARGET_MS = 15
RATIO = 1.25


def pages(summary):
    """(page, signed-in user, url) for each page the issue names, from the seed's summary."""
    day = _weekday(datetime.date.fromisoformat(summary["busy_day"]))
    patient, audited = summary["busiest_patient"], summary["audit_patient"]
    return [
        ("patient page (busiest patient)", "practitioner", f"/patients/{patient}/"),
        ("screening page", "practitioner", f"/patients/{patient}/screenings/new/"),
        ("Today (a full day)", "practitioner", f"/today/?date={day.isoformat()}"),
        (
            "week calendar (a full week)",
            "scheduler",
            f"/calendar/?by=practitioner&practitioner={summary['practitioner']}&date={day.isoformat()}",
        ),
        ("to-book", "scheduler", "/calendar/to-book/"),
        ("outbox", "scheduler", "/outbox/"),
        ("access history (10,000 entries)", "practitioner", f"/patients/{audited}/access/"),
        ("lot recall (a busy lot)", "practitioner", f"/recall/?lot={summary['recall_lot']}"),
        ("patient search (a common name)", "practitioner", f"/patients/?q={summary['common_family_name']}"),
        ("clinic outcomes", "practitioner", "/outcomes/"),
    ]


def _weekday(day):
    """The day itself, or the Friday before a weekend: the chain works Monday to Friday."""
    return day - datetime.timedelta(days=max(0, day.weekday() - 4))


def _repeat_for(client, url):
    """Thirty samples of a fast page; fewer of a slow one, so one slow page cannot take an hour."""
    started = time.perf_counter()
    client.get(url)
    took = (time.perf_counter() - started) * 1000
    return 30 if took < 100 else 10 if took < 1000 else 3


def measure():
    """{page: {median_ms, p95_ms, queries, url}} on the current database."""
    from mesoclinic.core.models import User
    from mesoclinic.desk import scale
    from tests.benchmarks.harness import client_for, page_timing

    summary = scale._state().get("done")
    if summary is None:
        raise SystemExit("This database has no scale data: run seed_demo --scale chain (or tenth) first.")
    clients = {name: client_for(User.objects.get(username=name)) for name in ("practitioner", "scheduler")}
    results = {"_summary": summary}
    for name, user, url in pages(summary):
        client = clients[user]
        result = page_timing(client, url, repeat=_repeat_for(client, url))
        result["url"] = url
        results[name] = result
    return results


def run(report):
    """In `run.py`'s list: this database's pages against the 15 ms target."""
    results = measure()
    summary = results.pop("_summary")
    print(f"  scale: {summary['size']['name']} ({summary['size']['sessions']:,} sessions)")
    for name, result in results.items():
        report.add(f"scale: {name}", result, target_ms=TARGET_MS, note=result["url"])


def compare(tenth, chain):
    """The table of both scales, and what missed: [line], [missed]."""
    lines = [
        f"{'page':<34} {'tenth ms':>9} {'chain ms':>9} {'ratio':>6} {'queries':>9}  verdict",
        "-" * 82,
    ]
    missed = []
    for name, small in tenth.items():
        if name.startswith("_"):
            continue
        big = chain[name]
        ratio = big["median_ms"] / small["median_ms"] if small["median_ms"] else float("inf")
        problems = []
        if big["median_ms"] > TARGET_MS:
            problems.append(f"> {TARGET_MS} ms")
        if ratio > RATIO:
            problems.append(f"ratio > {RATIO}")
        if big["queries"] != small["queries"]:
            problems.append("queries differ")
        verdict = "MISSED " + ", ".join(problems) if problems else "OK"
        missed += [f"{name}: {problem}" for problem in problems]
        lines.append(
            f"{name:<34} {small['median_ms']:>9.1f} {big['median_ms']:>9.1f} {ratio:>6.2f} "
            f"{small['queries']:>4}/{big['queries']:<4}  {verdict}"
        )
    return lines, missed
