"""Every write in the API and the pages reads its input through an input serializer or a form.

Allowed: passing `request.data`, `request.POST` or `request.FILES` WHOLE (optionally `... or None`) as an argument of
a serializer or form constructor: a callee whose name ends in Form, FormSet or Serializer, or is `form_class`,
`serializer_class` or `get_serializer`. The API does this in one place, `ScopedViewSetMixin.validated()`; pages bind
`SomeForm(request.POST, request.FILES)`. Everything else (`request.data[...]`, `request.data.get(...)`,
`request.POST.get(...)`, `"x" in request.POST`, handing request.POST to a helper) fails, naming file:line.
The streamed DICOMweb STOW-RS body (`request._request.read`) is not form input and is not concerned.

The walk covers every module of the apps, not only api/ and web/, so a view added elsewhere is checked too.
"""
import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("registry", "trials", "imaging", "reports", "config")
INPUTS = {"data", "POST", "FILES"}
CONSTRUCTOR_SUFFIXES = ("Form", "FormSet", "Serializer")
CONSTRUCTOR_NAMES = {"form_class", "serializer_class", "get_serializer"}


def _is_request(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "request") or (isinstance(node, ast.Attribute) and node.attr == "request")


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _into_constructor(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """True when `node` is passed whole (perhaps as `node or None`) to a form or serializer constructor."""
    while isinstance(parents.get(node), ast.BoolOp):
        node = parents[node]
    holder = parents.get(node)
    if isinstance(holder, ast.keyword):
        holder = parents.get(holder)
    elif not (isinstance(holder, ast.Call) and node in holder.args):
        return False
    if not isinstance(holder, ast.Call):
        return False
    name = _callee(holder)
    return name.endswith(CONSTRUCTOR_SUFFIXES) or name in CONSTRUCTOR_NAMES


def violations(source: str) -> Iterator[tuple[int, str]]:
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in INPUTS and _is_request(node.value):
            if not _into_constructor(node, parents):
                yield node.lineno, ast.unparse(parents.get(node, node))


def _modules() -> Iterator[Path]:
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if not {"tests", "migrations"} & set(path.relative_to(ROOT).parts):
                yield path


def test_no_view_reads_request_input_past_a_serializer_or_form() -> None:
    found = [f"{path.relative_to(ROOT)}:{line}: {code}" for path in _modules() for line, code in violations(path.read_text())]
    assert found == [], "read request input through an input serializer or a form:\n" + "\n".join(found)


def test_the_walk_sees_the_views() -> None:
    # Guards the test above against passing vacuously (a wrong root or app list would find no module).
    names = {str(p.relative_to(ROOT)) for p in _modules()}
    assert {"registry/api/base.py", "imaging/api/views.py", "imaging/dicomweb/views.py", "registry/web/views.py"} <= names


def test_direct_reads_are_found_and_whole_binding_is_allowed() -> None:
    refused = """
def view(request, self):
    a = request.data["patient"]
    b = request.data.get("trial_visit_id")
    c = request.POST["x"]
    d = request.POST.get("action")
    e = helper(kind, request.POST)
    f = self.request.data.get("x")
    if "site_0" in request.POST:
        pass
    g = request.FILES.getlist("files")
"""
    assert sorted(line for line, _ in violations(refused)) == [3, 4, 5, 6, 7, 8, 9, 11]
    allowed = """
def view(request, self):
    UploadForm(request.POST, request.FILES, patients=patients)
    PatientRegisterForm(request.POST or None, hospitals=hospitals)
    ConsentRecordForm(request.POST or None, request.FILES or None)
    form_class(request.POST, user=request.user)
    serializer_class(data=self.request.data, context={"request": self.request})
    UploadRequestSerializer(data=request.data)
    response.data.get("detail")
    request._request.read
"""
    assert list(violations(allowed)) == []
