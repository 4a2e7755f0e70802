"""The documentation a newcomer reads: every link in the README resolves inside
the repository (file and heading), the reference documents' own links resolve,
nothing points outside the clone (../shared), and the README has its contents."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
DOCUMENTS = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, flags=re.M)}


def links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return [a or b for a, b in LINK.findall(text)]


def broken(path: Path, target: str) -> str | None:
    file, _, anchor = target.partition("#")
    resolved = (path.parent / file).resolve() if file else path
    if not resolved.exists():
        return f"{target}: no such file"
    if ROOT not in resolved.parents and resolved != ROOT:
        return f"{target}: outside the repository"
    if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
        return f"{target}: no heading #{anchor} in {resolved.relative_to(ROOT)}"
    return None


def test_every_readme_link_resolves_inside_the_repository():
    targets = links(ROOT / "README.md")
    assert len(targets) > 20
    outside = [t for t in targets if re.match(r"[a-z]+:", t)]
    assert not outside, f"the README links only inside the repository: {outside}"
    problems = [p for t in targets if (p := broken(ROOT / "README.md", t))]
    assert not problems, problems


def test_the_reference_documents_links_resolve_and_nothing_points_outside_the_clone():
    for path in DOCUMENTS:
        assert "../shared" not in path.read_text(), path
        problems = [p for t in links(path) if not re.match(r"[a-z]+:", t) and (p := broken(path, t))]
        assert not problems, (path.name, problems)


def test_the_readme_has_its_sections_in_order():
    text = (ROOT / "README.md").read_text()
    sections = ["Quick start: the demo", "Requirements", "A look before deploying", "Deploy",
                "First run on a real account", "Subscribing people and channels", "Trying it locally",
                "Configuration", "Operating", "Troubleshooting", "Cost", "Clean up", "Upgrading", "Development"]
    at = [text.find(f"\n## {s}\n") for s in sections]
    assert -1 not in at, [s for s, i in zip(sections, at) if i == -1]
    assert at == sorted(at)
    contents = text[text.index("## Contents"):at[0]]
    assert all(f"(#{slug(s)})" in contents for s in sections), contents


# What the documents name in backticks: a CamelCase word may be a template
# parameter or output or a metric, an UPPER_SNAKE word a variable.
CAMEL = re.compile(r"`([A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+)`")
SNAKE = re.compile(r"`([A-Z][A-Z0-9]*_[A-Z0-9_]+)`")


def named_in_docs() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))):
        text = path.read_text()
        for name in CAMEL.findall(text) + SNAKE.findall(text):
            found.setdefault(name, set()).add(path.name)
    return found


# AWS's own names the documents mention and this project never defines: APIs
# it weighed or does not call, AWS's error and field names, and the SDK's
# AWS_* variables (any of them).
AWS_NAMES = {"DescribeRegions", "GetHost", "ConditionalCheckFailed", "CallAs", "UsePreviousValue", "PutDashboard",
             "GetConnectionToken"}


def sources() -> str:
    """Where a name the documents use must exist: the templates, the code, the local AWS."""
    paths = [ROOT / "template.yaml", ROOT / "member-role.yaml", ROOT / "samconfig.toml", *sorted((ROOT / "src").rglob("*.rs")),
             *sorted((ROOT / "local").glob("*.py")), *sorted((ROOT / "scripts").iterdir())]
    return "\n".join(p.read_text() for p in paths if p.is_file())


def test_every_name_the_documents_use_exists_and_every_parameter_is_documented():
    """A parameter, output, variable or metric renamed in one place only fails here."""
    from tests.e2e.test_template import template
    code = sources()
    missing = {name: sorted(where) for name, where in named_in_docs().items()
               if name not in AWS_NAMES and not name.startswith("AWS_") and not re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", code)}
    assert not missing, f"named in the documents, defined nowhere: {missing}"
    decoded = template()
    reference = (ROOT / "docs" / "reference.md").read_text()
    readme = (ROOT / "README.md").read_text()
    for parameter in decoded["Parameters"]:
        assert f"`{parameter}`" in reference and f"`{parameter}`" in readme, f"{parameter} is not documented"
    for output in decoded["Outputs"]:
        assert f"`{output}`" in reference, f"output {output} is not documented"
    variables = decoded["Resources"]["MonitorFunction"]["Properties"]["Environment"]["Variables"]
    for variable in variables:
        assert f"`{variable}`" in reference, f"{variable} is not documented"


def test_schedule_minutes_is_documented_with_exactly_the_values_the_template_allows():
    """The README's row and the reference say the values CloudFormation accepts, not a range."""
    from tests.e2e.test_template import template
    allowed = template()["Parameters"]["ScheduleMinutes"]["AllowedValues"]
    spelled = ", ".join(allowed[:-1]) + f" or {allowed[-1]}"
    readme = (ROOT / "README.md").read_text()
    [row] = [line for line in readme.splitlines() if line.startswith("| `ScheduleMinutes` |")]
    assert spelled in row, row
    reference = " ".join((ROOT / "docs" / "reference.md").read_text().split())
    assert f"`ScheduleMinutes` is one of {', '.join(allowed[:-1])} and {allowed[-1]}" in reference
    assert "15 to 720" not in readme + reference
