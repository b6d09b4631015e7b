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
