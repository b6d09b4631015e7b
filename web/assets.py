"""Set-up step: copy the built GOV.UK Frontend and MOJ Frontend files from node_modules into
``web/static/vendor`` (git-ignored), without the GOV.UK font and crown. Run ``python -m web.assets``
after ``npm ci``. Pages still render, unstyled, when the vendor folder is missing."""
from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

WEB = Path(__file__).resolve().parent
VENDOR = WEB / "static" / "vendor"
NODE_MODULES = WEB.parent / "node_modules"
GOVUK = Path("govuk-frontend/dist/govuk")
MOJ = Path("@ministryofjustice/frontend/moj")
SYSTEM_FONTS = 'system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif'
ICONS = ("icon-*.svg",)  # MOJ component icons; no crest, crown or GOV.UK imagery


def neutral_css(css: str) -> str:
    """Drop the GOV.UK font faces, use the system font stack and point images at ``vendor/images``."""
    css = re.sub(r"@font-face\{[^}]*\}", "", css)
    css = re.sub(r'"?GDS Transport"?,arial,sans-serif', SYSTEM_FONTS, css)
    css = css.replace("url(/assets/images/", "url(images/")
    return re.sub(r"/\*# sourceMappingURL=[^*]*\*/", "", css)


def plain_js(js: str) -> str:
    """Drop the source-map comment (the maps are not copied)."""
    return re.sub(r"//# sourceMappingURL=\S+\s*$", "", js)


FILES: tuple[tuple[Path, str, Callable[[str], str]], ...] = (
    (GOVUK / "govuk-frontend.min.css", "govuk-frontend.min.css", neutral_css),
    (GOVUK / "govuk-frontend.min.js", "govuk-frontend.min.js", plain_js),
    (MOJ / "moj-frontend.min.css", "moj-frontend.min.css", neutral_css),
    (MOJ / "moj-frontend.min.js", "moj-frontend.min.js", plain_js),
)


# The process designer's editors (bpmn-js, dmn-js): bundles, stylesheets and icon fonts, kept in their
# own folders so the stylesheets' relative font URLs still work.
BPMN, DMN = Path("bpmn-js/dist"), Path("dmn-js/dist")
DESIGNER_FILES: tuple[tuple[Path, str], ...] = (
    (BPMN / "bpmn-modeler.production.min.js", "bpmn-js/bpmn-modeler.min.js"),
    (BPMN / "bpmn-navigated-viewer.production.min.js", "bpmn-js/bpmn-viewer.min.js"),
    (BPMN / "assets/diagram-js.css", "bpmn-js/diagram-js.css"),
    (BPMN / "assets/bpmn-js.css", "bpmn-js/bpmn-js.css"),
    (BPMN / "assets/bpmn-font/css/bpmn.css", "bpmn-js/bpmn-font/css/bpmn.css"),
    (DMN / "dmn-modeler.production.min.js", "dmn-js/dmn-modeler.min.js"),
    (DMN / "assets/diagram-js.css", "dmn-js/diagram-js.css"),
    (DMN / "assets/dmn-js-shared.css", "dmn-js/dmn-js-shared.css"),
    (DMN / "assets/dmn-js-drd.css", "dmn-js/dmn-js-drd.css"),
    (DMN / "assets/dmn-js-decision-table.css", "dmn-js/dmn-js-decision-table.css"),
    (DMN / "assets/dmn-js-decision-table-controls.css", "dmn-js/dmn-js-decision-table-controls.css"),
    (DMN / "assets/dmn-js-literal-expression.css", "dmn-js/dmn-js-literal-expression.css"),
    (DMN / "assets/dmn-font/css/dmn.css", "dmn-js/dmn-font/css/dmn.css"),
)
DESIGNER_FONTS = ((BPMN / "assets/bpmn-font/font", "bpmn-js/bpmn-font/font"),
                  (DMN / "assets/dmn-font/font", "dmn-js/dmn-font/font"))


def copy_designer_assets(node_modules: Path = NODE_MODULES, target: Path = VENDOR) -> list[Path]:
    """Copy the bpmn-js and dmn-js files (skipped, returning [], when those packages are not installed)."""
    if not all((node_modules / src).is_file() for src, _name in DESIGNER_FILES):
        return []
    written = []
    for source, name in DESIGNER_FILES:
        out = target / name
        out.parent.mkdir(parents=True, exist_ok=True)
        text = (node_modules / source).read_text(encoding="utf-8")
        out.write_text(plain_js(text) if name.endswith(".js") else text, encoding="utf-8")
        written.append(out)
    for source_dir, name in DESIGNER_FONTS:
        (target / name).mkdir(parents=True, exist_ok=True)
        for font in sorted((node_modules / source_dir).iterdir()):
            written.append(Path(shutil.copyfile(font, target / name / font.name)))
    return written


def designer_assets_available(static_folder: str | Path | None) -> bool:
    """True when the copied bpmn-js and dmn-js bundles are present."""
    return bool(static_folder) and all((Path(str(static_folder)) / "vendor" / name).is_file()
                                       for _src, name in DESIGNER_FILES)


def copy_assets(node_modules: Path = NODE_MODULES, target: Path = VENDOR) -> list[Path]:
    """Copy (and neutralise) the vendor files; return the paths written."""
    missing = [str(node_modules / src) for src, _name, _f in FILES if not (node_modules / src).is_file()]
    if missing:
        raise FileNotFoundError("run `npm ci` first; missing " + ", ".join(missing))
    (target / "images").mkdir(parents=True, exist_ok=True)
    written = []
    for source, name, transform in FILES:
        out = target / name
        out.write_text(transform((node_modules / source).read_text(encoding="utf-8")), encoding="utf-8")
        written.append(out)
    for pattern in ICONS:
        for icon in sorted((node_modules / MOJ / "assets" / "images").glob(pattern)):
            written.append(Path(shutil.copyfile(icon, target / "images" / icon.name)))
    written += copy_designer_assets(node_modules, target)
    return written


def vendor_available(static_folder: str | Path | None) -> bool:
    """True when the copied GOV.UK Frontend stylesheet is present."""
    return bool(static_folder) and (Path(str(static_folder)) / "vendor" / FILES[0][1]).is_file()


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m web.assets [--node-modules DIR] [--target DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--node-modules", type=Path, default=NODE_MODULES)
    parser.add_argument("--target", type=Path, default=VENDOR)
    args = parser.parse_args(argv)
    try:
        written = copy_assets(args.node_modules, args.target)
    except FileNotFoundError as exc:
        print(f"web.assets: {exc}", file=sys.stderr)
        return 1
    print(f"web.assets: copied {len(written)} files into {args.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
