"""Read an admin change form as a browser would submit it, so tests change only what they are about."""

from html.parser import HTMLParser


class _FormFields(HTMLParser):
    """The successful controls of the form with id `form_id`: {name: [values]}."""

    def __init__(self, form_id):
        super().__init__()
        self.form_id = form_id
        self.in_form = False
        self.fields = {}
        self._select = None
        self._select_values = None
        self._textarea = None

    def _add(self, name, value):
        self.fields.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.in_form = attrs.get("id") == self.form_id
        if not self.in_form or "disabled" in attrs:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in {"checkbox", "radio"}:
                if "checked" in attrs:
                    self._add(name, attrs.get("value", "on"))
            elif kind not in {"submit", "button", "file", "image", "reset"}:
                self._add(name, attrs.get("value", ""))
        elif tag == "select" and name:
            self._select, self._select_values = name, []
        elif tag == "option" and self._select and "selected" in attrs:
            self._select_values.append(attrs.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self._add(name, "")

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "select" and self._select:
            for value in self._select_values:
                self._add(self._select, value)
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_data(html, form_id):
    """The data a browser would post from the form `form_id` of `html`, as {name: value or [values]}."""
    parser = _FormFields(form_id)
    parser.feed(html)
    return {name: values[0] if len(values) == 1 else values for name, values in parser.fields.items()}
