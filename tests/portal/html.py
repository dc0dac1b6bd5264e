"""Reading the portal's pages in view tests: a field's attributes, its error, an element's text."""

from html.parser import HTMLParser

VOID = {"input", "br", "img", "meta", "link", "hr", "col", "source", "area", "wbr"}


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[dict] = []  # every element: tag, attrs, text
        self._open: list[dict] = []

    def handle_starttag(self, tag, attrs):
        for element in self._open:
            element["text"] += " "  # cells and items read as separate words
        element = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elements.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_startendtag(self, tag, attrs):
        self.elements.append({"tag": tag, "attrs": dict(attrs), "text": ""})

    def handle_endtag(self, tag):
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index]["tag"] == tag:
                del self._open[index:]
                break

    def handle_data(self, data):
        for element in self._open:
            element["text"] += data


def parse(response) -> list[dict]:
    page = _Page()
    page.feed(response.content.decode())
    return page.elements


def squash(text: str) -> str:
    return " ".join(text.split())


def by_id(response, element_id: str) -> dict | None:
    return next((e for e in parse(response) if e["attrs"].get("id") == element_id), None)


def text_of(response, element_id: str) -> str:
    element = by_id(response, element_id)
    assert element is not None, f"no element #{element_id}"
    return squash(element["text"])


def field(response, name: str) -> dict:
    """The attributes of the form control named `name` (the first one, for a checkbox list)."""
    found = next(
        (e["attrs"] for e in parse(response)
         if e["tag"] in ("input", "select", "textarea") and e["attrs"].get("name") == name),
        None,
    )  # fmt: skip
    assert found is not None, f"no field {name}"
    return found


def field_error(response, name: str) -> str:
    """The error shown under the field `name`, checked to be tied to it (aria-describedby on
    the control, or on the fieldset of a checkbox list) and the control marked invalid."""
    attrs = field(response, name)
    if attrs.get("type") == "checkbox":
        error_id = attrs["id"].removesuffix("_0") + "_error"
        holder = next(
            (e["attrs"] for e in parse(response)
             if e["tag"] == "fieldset" and error_id in e["attrs"].get("aria-describedby", "")),
            {},
        )  # fmt: skip
    else:
        error_id, holder = f"{attrs.get('id')}_error", attrs
    described = (holder.get("aria-describedby") or "").split()
    assert error_id in described, f"{name}: the error is not tied to the field ({described})"
    assert attrs.get("aria-invalid") == "true", f"{name} is not marked invalid"
    return text_of(response, error_id)


def options(response, name: str, *, selected: bool = False) -> list[str]:
    """The option values of the select named `name` (only the selected ones if asked)."""
    values, inside = [], False
    for element in parse(response):
        if element["tag"] == "select":
            inside = element["attrs"].get("name") == name
        elif element["tag"] == "option":
            if inside and (not selected or "selected" in element["attrs"]):
                values.append(element["attrs"].get("value"))
        elif element["tag"] != "optgroup":
            inside = False
    return values
