"""The editor offers only what the sanitiser keeps, so editors never lose work silently."""

from django.conf import settings

from baltmet.sanitize import ALLOWED_TAGS, sanitize_html

# What each toolbar button makes CKEditor 4 write.
BUTTON_OUTPUT = {
    "Format": set(),  # checked through format_tags below
    "Bold": {"strong"},
    "Italic": {"em"},
    "NumberedList": {"ol", "li"},
    "BulletedList": {"ul", "li"},
    "Blockquote": {"blockquote", "p"},
    "Link": {"a"},
    "Unlink": set(),
    "Image": {"img"},
    "Table": {"table", "thead", "tbody", "tr", "th", "td", "caption"},
    "RemoveFormat": set(),
    "Source": set(),
}


def _toolbar_buttons():
    config = settings.CKEDITOR_CONFIGS["default"]
    return [button for group in config[f"toolbar_{config['toolbar']}"] for button in group if button != "-"]


def test_every_toolbar_button_is_known_and_its_output_is_allowed():
    for button in _toolbar_buttons():
        assert button in BUTTON_OUTPUT, f"new toolbar button {button}: add what it writes to the allow-list test"
        assert BUTTON_OUTPUT[button] <= ALLOWED_TAGS, button


def test_every_paragraph_format_is_allowed():
    formats = settings.CKEDITOR_CONFIGS["default"]["format_tags"].split(";")
    assert set(formats) <= ALLOWED_TAGS


def test_what_the_toolbar_writes_survives_sanitising():
    written = (
        "<h2>Heading</h2><p><strong>b</strong> <em>i</em></p><ol><li>1</li></ol><ul><li>2</li></ul>"
        "<blockquote><p>q</p></blockquote>"
        '<table><caption>c</caption><thead><tr><th scope="col">h</th></tr></thead><tbody><tr><td>d</td></tr></tbody></table>'
    )
    assert sanitize_html(written) == written
