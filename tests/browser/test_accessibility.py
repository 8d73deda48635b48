"""
Accessibility in a real browser: axe-core finds no WCAG 2.1 A/AA violation on any public page
at desktop and phone widths; the pages work with JavaScript off; keyboard focus is visible;
the compare charts have text alternatives.
"""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import AXE_JS, DESKTOP, MOBILE, require_file, watch_errors
from tests.browser.pages import NOT_FOUND, public_pages

pytestmark = pytest.mark.browser

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

RUN_AXE = """async (tags) => {
    const results = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
    return results.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html, summary: n.failureSummary})),
    }));
}"""


@pytest.fixture(scope="session")
def axe_source():
    return require_file(AXE_JS, "axe-core (npm package)").read_text()


def describe(violations_by_page):
    lines = []
    for path, violations in violations_by_page.items():
        for violation in violations:
            lines.append(f"{path}: [{violation['impact']}] {violation['id']}: {violation['help']}")
            for node in violation["nodes"][:5]:
                lines.append(f"    {node['target']}: {node['html'][:160]}")
                lines.append("      " + (node["summary"] or "").replace("\n", "\n      "))
    return "\n".join(lines)


@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["desktop", "375px"])
def test_no_wcag_21_aa_violations_on_any_public_page(site, new_context, axe_source, viewport):
    page = new_context(viewport=viewport).new_page()
    errors = watch_errors(page)
    violations_by_page, errors_by_page = {}, {}
    paths = public_pages()
    for path in paths:
        errors.clear()
        response = page.goto(site + path)
        assert response.status == (404 if path == NOT_FOUND else 200), path
        # No console errors either: a CSP refusal of an inline style or script would show here.
        page_errors = [error for error in errors if not (path == NOT_FOUND and "404" in error)]
        if page_errors:
            errors_by_page[path] = page_errors
        # Evaluated by the browser itself, so the pages' CSP (script-src 'self') does not apply.
        page.evaluate(axe_source)
        violations = page.evaluate(RUN_AXE, WCAG_21_AA)
        if violations:
            violations_by_page[path] = violations
    assert not violations_by_page, f"axe-core found WCAG 2.1 A/AA violations:\n{describe(violations_by_page)}"
    assert not errors_by_page, errors_by_page
    assert len(paths) >= 15


def test_no_horizontal_scrolling_at_375px(site, new_context):
    page = new_context(viewport=MOBILE).new_page()
    too_wide = {}
    for path in public_pages():
        page.goto(site + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > MOBILE["width"]:
            too_wide[path] = width
    assert not too_wide, f"pages wider than the 375 px screen: {too_wide}"


def test_pages_work_with_javascript_off(site, new_context):
    page = new_context(java_script_enabled=False).new_page()
    page.goto(f"{site}/")
    expect(page.locator(".home-news article.teaser")).to_have_count(4)
    page.locator(".home-news").get_by_role("link", name="Read more").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text('BaltMet Inno WP 3 "Cluster Development" final event conference')

    page.goto(f"{site}/news/")
    expect(page.locator("article.teaser")).to_have_count(4)
    page.goto(f"{site}/events/")
    expect(page.locator("section[aria-labelledby=past-events] article.teaser")).to_have_count(3)
    page.goto(f"{site}/regions/oslo/")
    expect(page.locator("section[aria-labelledby=region-clusters] li")).to_have_count(5)

    # The compare form is a plain GET form and the charts are drawn by the server.
    page.goto(f"{site}/regions/compare/")
    charts = page.locator("figure.chart svg[role=img]")
    expect(charts).to_have_count(11)
    page.get_by_role("group", name="Figures").get_by_label("Area").uncheck()
    page.get_by_role("button", name="Compare").click()
    assert "metric=population" in page.url and "metric=area" not in page.url
    expect(charts).to_have_count(10)

    page.goto(f"{site}/search/")
    page.get_by_label("Search news, events and regions").fill("cluster")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("ol.results li").first).to_be_visible()
    assert "q=cluster" in page.url


FOCUS_STYLE = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    return {
        tag: el.tagName, text: (el.textContent || "").trim().slice(0, 40),
        outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0,
        shadow: style.boxShadow !== "none",
        onScreen: rect.width > 0 && rect.height > 0 && rect.bottom > 0 && rect.right > 0
                  && rect.top < innerHeight && rect.left < innerWidth,
    };
}"""


@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["desktop", "375px"])
def test_keyboard_focus_is_visible(site, new_context, viewport):
    page = new_context(viewport=viewport).new_page()
    page.goto(f"{site}/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    focus = page.evaluate(FOCUS_STYLE)
    assert focus["onScreen"], f"the skip link stays off screen when focused: {focus}"
    assert focus["outline"] or focus["shadow"], f"no focus indicator on the skip link: {focus}"

    # Every stop of the Tab order, through the whole page, shows where the focus is.
    stops = 0
    for _ in range(60):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_STYLE)
        if focus["tag"] == "BODY":  # past the last link: the focus has left the page
            break
        stops += 1
        assert focus["outline"] or focus["shadow"], f"focus is invisible on {focus}"
    assert stops >= 15

    # The skip link takes keyboard users past the navigation to the content.
    page.goto(f"{site}/news/")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    expect(page.locator("main a").first).to_be_focused()


def test_compare_charts_have_text_alternatives(site, page):
    page.goto(f"{site}/regions/compare/")
    charts = page.locator("svg[role=img]")
    expect(charts).to_have_count(11)
    for index in range(charts.count()):
        chart = charts.nth(index)
        labelled_by = chart.get_attribute("aria-labelledby").split()
        texts = [page.locator(f"[id='{ident}']").text_content().strip() for ident in labelled_by]
        assert len(texts) == 2 and all(texts), f"chart {index} lacks a title and description: {texts}"
        assert chart.locator("title").text_content().strip() == texts[0]
        assert chart.locator("desc").text_content().strip() == texts[1]
        # What a screen reader announces: the title, then the description with the values.
        expect(chart).to_have_accessible_name(f"{texts[0]} {texts[1]}")
        assert "Oslo" in texts[1], texts[1]
