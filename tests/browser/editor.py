"""What an editor does in the admin, step by step, as a person at the keyboard and mouse would."""

import re

from playwright.sync_api import expect

PASSWORD = "correct-horse-battery-staple"


def log_in(page, site, username):
    page.goto(f"{site}/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#site-name")).to_contain_text("BaltMet Inno administration")


def wait_for_editor(page, field_id):
    page.wait_for_function(
        "id => window.CKEDITOR && CKEDITOR.instances[id] && CKEDITOR.instances[id].status === 'ready'",
        arg=field_id,
    )
    return page.locator(f"#cke_{field_id}")


def editing_area(page, field_id):
    return page.frame_locator(f"#cke_{field_id} iframe.cke_wysiwyg_frame").locator("body")


def choose_format(page, field_id, label):
    """The toolbar's Format combo: open it, pick `label` in its floating panel."""
    page.locator(f"#cke_{field_id} .cke_combo__format a.cke_combo_button").click()
    panel = page.frame_locator("iframe.cke_panel_frame:visible")
    panel.get_by_title(label, exact=True).click()


def toolbar_button(page, field_id, name):
    return page.locator(f"#cke_{field_id} a.cke_button__{name}")


def visible_dialog(page):
    return page.locator("div.cke_dialog_body:visible")


def dialog_field(dialog, label):
    """A field of a CKEditor dialog, by its label, on the tab that is showing (a required
    field's label ends in an asterisk)."""
    return dialog.get_by_label(re.compile(rf"^{re.escape(label)}\*?$")).filter(visible=True)


def press_dialog_ok(page):
    visible_dialog(page).locator("a.cke_dialog_ui_button_ok").click()
    expect(page.locator("div.cke_dialog_body:visible")).to_have_count(0)


def type_formatted_body(page, field_id, *, heading, paragraph, items, link_text, link_url):
    """Type a heading, a paragraph, a numbered list and a link with the toolbar, as an editor does."""
    body = editing_area(page, field_id)
    body.click()
    choose_format(page, field_id, "Heading 2")
    page.keyboard.type(heading)
    page.keyboard.press("Enter")
    page.keyboard.type(paragraph)
    page.keyboard.press("Enter")
    toolbar_button(page, field_id, "numberedlist").click()
    for item in items:
        page.keyboard.type(item)
        page.keyboard.press("Enter")
    # A second Enter on an empty item ends the list, as in any word processor.
    page.keyboard.press("Enter")
    page.keyboard.type("More at ")
    toolbar_button(page, field_id, "link").click()
    dialog = visible_dialog(page)
    dialog_field(dialog, "Display Text").fill(link_text)
    dialog_field(dialog, "URL").fill(link_url)
    press_dialog_ok(page)
    page.keyboard.press("End")
    page.keyboard.type(".")
    page.keyboard.press("Enter")


def upload_image_in_editor(page, field_id, image_path, alt):
    """The Image dialog's Upload tab: choose a file, send it to the server, then describe it."""
    toolbar_button(page, field_id, "image").click()
    dialog = visible_dialog(page)
    dialog.get_by_role("tab", name="Upload").click()
    upload_form = dialog.frame_locator("iframe.cke_dialog_ui_input_file")
    upload_form.locator("input[type=file]").set_input_files(str(image_path))
    dialog.get_by_role("button", name="Send it to the Server").click()
    # The server's answer fills in the URL and switches back to the Image Info tab.
    url_field = dialog_field(dialog, "URL")
    expect(url_field).to_have_value(re.compile(r"^/media/uploads/.+\.(png|jpe?g)$"))
    dialog_field(dialog, "Alternative Text").fill(alt)
    press_dialog_ok(page)
