#!/usr/bin/env bash
# Build a wheel from the repository, install it into a clean virtualenv, and check it works there:
# the ce-credit command, the OLX examples, the xblock.v1 entry point and the packaged static files.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VENV:-.venv}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$venv/bin/python" -m pip wheel -q --no-deps -w "$work/dist" .
wheel=$(ls "$work"/dist/ce_credit-*.whl)
echo "Built $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KB)"
"$venv/bin/python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q "$wheel"
(cd "$work" && "$work/venv/bin/ce-credit" validate "$OLDPWD"/examples/*.xml)
(cd "$work" && "$work/venv/bin/python" - <<'PY'
import importlib.metadata as md
import importlib.resources as res
import ce_xblock
eps = {ep.name: ep for ep in md.entry_points(group="xblock.v1")}
assert "ce_credit" in eps, f"ce_credit is not registered: {sorted(eps)}"
block = eps["ce_credit"].load()
pkg = res.files("ce_xblock")
for rel in ("static", "translations"):
    path = pkg / rel
    assert path.is_dir(), f"{rel}/ is missing from the installed package"
    files = [p for p in path.rglob("*") if p.is_file()] if hasattr(path, "rglob") else list(path.iterdir())
    assert files, f"{rel}/ is empty in the installed package"
print(f"wheel OK: ce_credit -> {block.__module__}.{block.__name__}; static and translations are packaged in {pkg}")
PY
)

# Render the block from the installed wheel, as the LMS would, in French: every CSS/JS resource it
# asks for is in the package, the French catalogues (Python and JS) are found, and the learner view
# carries French text. XBlock's own TestRuntime (shipped with XBlock) hosts the block.
(cd "$work" && "$work/venv/bin/python" - <<'PY'
import importlib.resources as res
import re

from xblock.fields import ScopeIds
from xblock.runtime import DictKeyValueStore, KvsFieldData, NullI18nService
from xblock.test.tools import TestRuntime

from ce_xblock.block import CECreditBlock


class French(NullI18nService):
    def get_language(self):
        return "fr"


class Runtime(TestRuntime):
    def local_resource_url(self, block, uri):
        return "/resource/ce_credit/" + uri

    def handler_url(self, block, handler_name, suffix="", query="", thirdparty=False):
        return f"/handler/{handler_name}/{suffix}"


runtime = Runtime(services={"field-data": KvsFieldData(DictKeyValueStore()), "i18n": French()})
block = CECreditBlock(runtime, scope_ids=ScopeIds("learner-1", "ce_credit", "def-1", "usage-1"))
frag = block.render("student_view", {})
pkg = res.files("ce_xblock")
urls = [r.data for r in frag.resources if r.kind == "url"]
assert any(u.endswith("ce_credit.css") for u in urls) and any(u.endswith("ce_credit.js") for u in urls), urls
for url in urls:
    rel = url.removeprefix("/resource/ce_credit/")
    assert (pkg / rel).is_file(), f"the view asks for {rel}, which is not in the installed package"
assert any("translations/fr/text.js" in u for u in urls), f"the French JS catalogue is not loaded: {urls}"
page = frag.content
assert 'lang="fr"' in page, page[:300]
assert re.search(r"Chargement|activité", page), "no French text in the learner view"
print(f"wheel OK: the learner view renders in French with {len(urls)} packaged resources")
PY
)

# The same wheel in the XBlock SDK workbench, served over HTTP as a course author would try it: the
# scenario page lists the block, renders it in French (LocaleMiddleware, Accept-Language: fr), and
# every CSS/JS file the page links returns 200 from the installed package.
"$work/venv/bin/python" -m pip install -q "xblock-sdk>=0.14" "Django>=4.2,<6"
cp tests/a11y/workbench_settings.py "$work/"
port=$("$work/venv/bin/python" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
mkdir -p "$work/wb/var"
(cd "$work/wb" && PYTHONPATH="$work" EXCLUDE_SAMPLE_XBLOCKS=yes "$work/venv/bin/django-admin" migrate --run-syncdb \
  --settings=workbench_settings -v 0)
(cd "$work/wb" && PYTHONPATH="$work" EXCLUDE_SAMPLE_XBLOCKS=yes exec "$work/venv/bin/django-admin" runserver \
  "127.0.0.1:$port" --noreload --settings=workbench_settings >"$work/wb/server.log" 2>&1) &
wb_pid=$!
trap 'kill "$wb_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
"$work/venv/bin/python" - "$port" <<'PY'
import re
import sys
import time
import urllib.request

base = f"http://127.0.0.1:{sys.argv[1]}"
for _ in range(100):
    try:
        home = urllib.request.urlopen(base + "/", timeout=5).read().decode()
        break
    except OSError:
        time.sleep(0.3)
else:
    sys.exit("the workbench did not start")
links = re.findall(r'href="(/scenario/[^"]+)"[^>]*>\s*CE Credit', home)
assert links, "no CE Credit scenario in the workbench"
req = urllib.request.Request(base + links[0], headers={"Accept-Language": "fr"})
page = urllib.request.urlopen(req, timeout=30).read().decode()
assert 'lang="fr"' in page and re.search(r"Chargement|activité", page), "the scenario did not render in French"
assets = sorted(set(re.findall(r"""(?:href|src)=["']([^"']*/ce_credit/[^"']*\.(?:css|js))["']""", page)))
assert any(a.endswith("ce_credit.css") for a in assets) and any(a.endswith("ce_credit.js") for a in assets), assets
assert any("translations/fr/text.js" in a for a in assets), f"no French JS catalogue: {assets}"
for asset in assets:
    with urllib.request.urlopen(base + asset, timeout=10) as r:
        assert r.status == 200 and r.read(), asset
print(f"wheel OK: the workbench renders {links[0]} in French; {len(assets)} CSS/JS files served from the package")
PY
