"""Rebuild bench/corpus/ from git mirrors of adbar/trafilatura and adbar/htmldate.

    python bench/corpus/build_corpus.py --trafilatura /work/.mirror/adbar+trafilatura/repo \
        --htmldate /work/.mirror/adbar+htmldate/repo [--out bench/corpus]

The mirrors may be bare: everything is read with ``git show <commit>:<path>``
at the given commit (default: HEAD of each mirror), so the output depends only
on the two commits. Three annotation sets are taken:

* ``trafilatura``: ``tests/evaldata.json`` (url -> file, with[], without[],
  title, date, ...); pages looked up as upstream's ``eval_common.resolve``
  does: ``tests/cache/`` first, then ``tests/eval/``.
* ``htmldate``: ``tests/eval_default.json`` (url -> file, date YYYY-MM-DD);
* ``mediacloud``: ``tests/eval_mediacloud_2020.json`` (same shape); pages of
  both htmldate sets looked up as upstream's ``evaluation.load_document``
  does: ``tests/test_set/``, then ``tests/cache/``, then ``tests/eval/``.

Every entry whose page exists at that commit is kept (no sampling: all pages
gzipped come to ~43 MB, under the ~45 MB budget). Each distinct page (by
SHA-256 of its bytes; the two projects share many) is stored once as
``pages/<sha256[:16]>.html.gz`` (gzip -9, mtime 0, so rebuilding gives the
same bytes). ``manifest.json`` maps a page id (``<set>:<upstream file>``) to
its gz file, url, set, upstream path and the upstream annotations, unchanged
except that htmldate's ``NaN`` dates (no date to find) become ``null``.
Entries whose file is absent upstream are listed under ``missing``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# set name -> (mirror key, annotation file, lookup order of page folders under tests/)
SETS = {
    "trafilatura": ("trafilatura", "tests/evaldata.json", ("cache", "eval")),
    "htmldate": ("htmldate", "tests/eval_default.json", ("test_set", "cache", "eval")),
    "mediacloud": ("htmldate", "tests/eval_mediacloud_2020.json", ("test_set", "cache", "eval")),
}
UPSTREAM = {"trafilatura": "https://github.com/adbar/trafilatura", "htmldate": "https://github.com/adbar/htmldate"}


def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True).stdout


def _clean(value):
    """NaN (htmldate's 'no date on this page') as None, recursively."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def build(mirrors: dict[str, Path], commits: dict[str, str], out: Path) -> dict:
    pages_dir = out / "pages"
    pages_dir.mkdir(parents=True, exist_ok=True)
    resolved = {key: _git(repo, "rev-parse", commits.get(key, "HEAD")).decode().strip() for key, repo in mirrors.items()}
    trees = {
        key: set(_git(mirrors[key], "ls-tree", "-r", "--name-only", resolved[key], "tests/").decode().splitlines())
        for key in mirrors
    }
    manifest: dict = {"upstream": {}, "sets": {}, "pages": {}, "missing": []}
    for key in mirrors:
        manifest["upstream"][key] = {"repo": UPSTREAM[key], "commit": resolved[key], "licence": "Apache-2.0",
                                     "licence_file": f"LICENSE.{key}"}
        (out / f"LICENSE.{key}").write_bytes(_git(mirrors[key], "show", f"{resolved[key]}:LICENSE"))
    written: dict[str, str] = {}  # sha256 -> gz name
    for set_name, (key, annotation_path, folders) in SETS.items():
        repo, commit = mirrors[key], resolved[key]
        entries = _clean(json.loads(_git(repo, "show", f"{commit}:{annotation_path}")))
        kept = 0
        for url in sorted(entries):
            item = entries[url]
            path = next((f"tests/{d}/{item['file']}" for d in folders if f"tests/{d}/{item['file']}" in trees[key]), None)
            if path is None:
                manifest["missing"].append({"set": set_name, "url": url, "file": item["file"]})
                continue
            data = _git(repo, "show", f"{commit}:{path}")
            digest = hashlib.sha256(data).hexdigest()
            if digest not in written:
                name = f"pages/{digest[:16]}.html.gz"
                (out / name).write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
                written[digest] = name
            page_id = f"{set_name}:{item['file']}"
            if page_id in manifest["pages"]:
                page_id = f"{page_id}#{sum(p.startswith(page_id) for p in manifest['pages'])}"
            annotations = {k: v for k, v in item.items() if k != "file"}
            manifest["pages"][page_id] = {"gz": written[digest], "sha256": digest, "url": url, "set": set_name,
                                          "upstream_path": path, "annotations": annotations}
            kept += 1
        manifest["sets"][set_name] = {"upstream": key, "annotations": annotation_path, "entries": len(entries),
                                      "pages": kept, "missing": len(entries) - kept}
    stale = {p.name for p in pages_dir.glob("*.html.gz")} - {Path(n).name for n in written.values()}
    for name in stale:
        (pages_dir / name).unlink()
    manifest["distinct_pages"] = len(written)
    manifest["gz_bytes"] = sum((out / n).stat().st_size for n in written.values())
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False, sort_keys=False) + "\n",
                                       encoding="utf-8")
    return manifest


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trafilatura", type=Path, required=True, help="git dir of adbar/trafilatura")
    parser.add_argument("--htmldate", type=Path, required=True, help="git dir of adbar/htmldate")
    parser.add_argument("--trafilatura-commit", default="HEAD")
    parser.add_argument("--htmldate-commit", default="HEAD")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    manifest = build({"trafilatura": args.trafilatura, "htmldate": args.htmldate},
                     {"trafilatura": args.trafilatura_commit, "htmldate": args.htmldate_commit}, args.out)
    for name, s in manifest["sets"].items():
        print(f"{name}: {s['pages']} of {s['entries']} entries ({s['missing']} pages absent upstream)")
    print(f"{manifest['distinct_pages']} distinct pages, {manifest['gz_bytes'] / 1e6:.1f} MB gzipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
