"""Look and layout: both themes, desktop and phone widths, keyboard reachability.
Screenshots go to the artifacts directory for a person to look at."""
from playwright.sync_api import expect


def open_page(browser, launcher, width, height, scheme):
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
    page = context.new_page()
    page.goto(launcher.url)
    expect(page.locator(".node-card.is-leader")).to_have_count(1, timeout=45_000)
    return context, page


def background(page):
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def test_themes_follow_the_system_and_toggle(browser, launcher, artifacts):
    context, page = open_page(browser, launcher, 1440, 1000, "dark")
    try:
        dark = background(page)
        page.screenshot(path=artifacts / "desktop-dark.png", full_page=True)
        # System → light → dark → system.
        page.click("#theme-toggle")
        expect(page.locator("html")).to_have_attribute("data-theme", "light")
        light = background(page)
        assert light != dark
        page.screenshot(path=artifacts / "desktop-light.png", full_page=True)
        page.click("#theme-toggle")
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        page.click("#theme-toggle")
        expect(page.locator("html")).not_to_have_attribute("data-theme", "light")
        assert background(page) == dark
    finally:
        context.close()


def test_phone_width_has_no_horizontal_scroll(browser, launcher, artifacts):
    for scheme in ("light", "dark"):
        context, page = open_page(browser, launcher, 390, 844, scheme)
        try:
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"page is {overflow}px wider than a phone screen"
            page.screenshot(path=artifacts / f"phone-{scheme}.png", full_page=True)
        finally:
            context.close()


def test_actions_are_reachable_by_keyboard(browser, launcher):
    context, page = open_page(browser, launcher, 1280, 900, "light")
    try:
        labels = set()
        for _ in range(40):
            page.keyboard.press("Tab")
            label = page.evaluate("document.activeElement.getAttribute('aria-label') || document.activeElement.textContent.trim()")
            labels.add(label)
        assert any(label.startswith("Stop node") for label in labels), labels
        assert "Add node" in {label.strip() for label in labels}
        # A dialog opens from the keyboard and Escape closes it.
        page.focus('.node-card[data-node="node2"] button[data-action="stop"]')
        page.keyboard.press("Enter")
        expect(page.locator("#confirm-dialog")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.locator("#confirm-dialog")).to_be_hidden()
    finally:
        context.close()
