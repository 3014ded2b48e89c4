from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def page_query(context, number):
    """'?status=failed&page=3': another page of the same list, every filter of the request kept."""
    query = context["request"].GET.copy()
    query["page"] = number
    return "?" + query.urlencode()
