"""Template tags for what search engines and link previews read (baltmet.seo)."""

from django import template
from django.utils.safestring import mark_safe

from baltmet import seo

register = template.Library()


class CaptureNode(template.Node):
    child_nodelists = ("nodelist",)

    def __init__(self, nodelist, name):
        self.nodelist = nodelist
        self.name = name

    def render(self, context):
        # The content is template output, escaped already; white space is collapsed so that a
        # block written over several lines reads as one line in a <meta> attribute.
        context[self.name] = mark_safe(" ".join(self.nodelist.render(context).split()))
        return ""


@register.tag
def capture(parser, token):
    """{% capture as name %}...{% endcapture %}: renders its content into the variable `name`
    instead of the page, so that one block (the page title) can be used in several places.
    Blocks inside it can still be overridden by templates that extend this one."""
    bits = token.split_contents()
    if len(bits) != 3 or bits[1] != "as":
        raise template.TemplateSyntaxError("usage: {% capture as name %}...{% endcapture %}")
    nodelist = parser.parse(("endcapture",))
    parser.delete_first_token()
    return CaptureNode(nodelist, bits[2])


@register.simple_tag(takes_context=True)
def absolute_url(context, url):
    """`url` (a path such as a media file's) as an absolute address on the request's host."""
    return context["request"].build_absolute_uri(url)


@register.simple_tag(takes_context=True)
def article_json_ld(context, article):
    return seo.json_ld_script(seo.article_data(article, context["request"]))


@register.simple_tag(takes_context=True)
def event_json_ld(context, event):
    return seo.json_ld_script(seo.event_data(event, context["request"]))
