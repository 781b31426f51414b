"""Build bprender's bundled fonts from DejaVu Sans (regular and bold).

    python tools/make_font.py [--src /usr/share/fonts/truetype/dejavu] [--out bprender/assets/fonts]

What it does, and why:
- Subsets to the characters bprender draws: Basic Latin, Latin-1, Greek, general punctuation,
  super/subscripts, arrows, math operators, letterlike symbols and a few geometric shapes.
- Keeps only GPOS kerning as layout: no GSUB (ligatures, contextual forms), so a browser
  (HarfBuzz) and skia-python (no shaper: glyphs + kerning pairs) lay text out identically.
- Writes a legacy 'kern' table flattened from the GPOS kerning: skia reads kerning pairs from
  'kern' (Typeface.getKerningPairAdjustments) while HarfBuzz reads GPOS, so both must agree.
- Renames the family to "bprender sans": the Bitstream Vera licence requires modified fonts
  to be renamed to names without "Bitstream" or "Vera" (and the Arev licence, "Arev").
- Writes LICENSE.txt from the font's own licence record (name ID 13).

Needs fontTools (a test/dev dependency, not a runtime one).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont, newTable
from fontTools.ttLib.tables._k_e_r_n import KernTable_format_0

FAMILY = "bprender sans"
PS_FAMILY = "bprendersans"

# (first, last) code point ranges, inclusive.
RANGES = [
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x00FF),  # Latin-1 Supplement
    (0x0370, 0x03FF),  # Greek and Coptic
    (0x2000, 0x206F),  # General Punctuation (… – — ‖ ′ ″ ...)
    (0x2070, 0x209F),  # Superscripts and Subscripts (⁻¹ ⁰ ₀ ...)
    (0x20AC, 0x20AC),  # €
    (0x2100, 0x214F),  # Letterlike Symbols (ℓ ℝ ...)
    (0x2190, 0x21FF),  # Arrows
    (0x2200, 0x22FF),  # Mathematical Operators (∂ ∇ ∑ √ ≈ ≤ ≥ − ...)
    (0x25A0, 0x25FF),  # Geometric Shapes (▶ ● ■ ...)
    (0xFFFD, 0xFFFD),  # replacement character
]

SOURCES = {"bprender-sans.ttf": ("DejaVuSans.ttf", "Regular"),
           "bprender-sans-bold.ttf": ("DejaVuSans-Bold.ttf", "Bold")}


def _gpos_kerning(font: TTFont) -> dict[tuple[str, str], int]:
    """Flatten the GPOS 'kern' feature's pair adjustments (x advance of the first glyph) the way
    HarfBuzz applies them: lookups add up; within a lookup the first matching subtable wins."""
    if "GPOS" not in font:
        return {}
    table = font["GPOS"].table
    indices = sorted({i for fr in table.FeatureList.FeatureRecord if fr.FeatureTag == "kern"
                      for i in fr.Feature.LookupListIndex})
    glyphs = font.getGlyphOrder()
    total: dict[tuple[str, str], int] = {}
    for li in indices:
        lookup = table.LookupList.Lookup[li]
        subtables = []
        for st in lookup.SubTable:
            if lookup.LookupType == 9:
                st = st.ExtSubTable
            if getattr(st, "LookupType", 2) == 2 or lookup.LookupType == 2:
                subtables.append(st)
        done: set[tuple[str, str]] = set()
        for st in subtables:
            for pair, value in _subtable_pairs(st, glyphs):
                if pair in done:
                    continue
                done.add(pair)
                if value:
                    total[pair] = total.get(pair, 0) + value
    return {k: v for k, v in total.items() if v}


def _xadv(rec) -> int:
    return int(getattr(rec, "XAdvance", 0) or 0) if rec is not None else 0


def _subtable_pairs(st, glyphs):
    if st.Format == 1:
        for first, pset in zip(st.Coverage.glyphs, st.PairSet):
            for pvr in pset.PairValueRecord:
                yield (first, pvr.SecondGlyph), _xadv(pvr.Value1)
    elif st.Format == 2:
        c1 = st.ClassDef1.classDefs
        c2 = st.ClassDef2.classDefs
        for first in st.Coverage.glyphs:
            row = st.Class1Record[c1.get(first, 0)].Class2Record
            for second in glyphs:  # every second glyph matches (class 0 if unlisted)
                yield (first, second), _xadv(row[c2.get(second, 0)].Value1)


def _write_kern(font: TTFont, pairs: dict[tuple[str, str], int]) -> None:
    kern = newTable("kern")
    kern.version = 0
    sub = KernTable_format_0()
    sub.version, sub.format, sub.coverage, sub.tupleIndex = 0, 0, 1, 0
    sub.kernTable = dict(pairs)
    kern.kernTables = [sub]
    if len(pairs) * 6 + 14 > 0xFFFF:
        raise SystemExit(f"too many kerning pairs for one 'kern' subtable: {len(pairs)}")
    font["kern"] = kern


def _rename(font: TTFont, style: str) -> None:
    name = font["name"]
    keep = {0, 13, 14}  # copyright, licence, licence URL
    old = {r.nameID: r.toUnicode() for r in name.names if r.platformID == 3}
    name.names = [r for r in name.names if r.nameID in keep]
    full = FAMILY if style == "Regular" else f"{FAMILY} {style}"
    version = old.get(5, "Version 2.37")
    records = {
        0: old.get(0, "").rstrip() + "\nbprender sans is a renamed subset of DejaVu Sans.",
        1: FAMILY, 2: style, 3: f"{PS_FAMILY}-{style}; {version}", 4: full,
        5: f"{version}; bprender subset", 6: f"{PS_FAMILY}-{style}",
    }
    for nid, text in records.items():
        name.setName(text, nid, 3, 1, 0x409)
        name.setName(text, nid, 1, 0, 0)
    font["OS/2"].usWeightClass = 700 if style == "Bold" else 400


def build(src: Path, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    unicodes = [cp for a, b in RANGES for cp in range(a, b + 1)]
    written = []
    licence = None
    for dst_name, (src_name, style) in SOURCES.items():
        font = TTFont(src / src_name)
        if licence is None:
            licence = font["name"].getDebugName(13)
        opts = subset.Options()
        opts.layout_features = ["kern"]
        opts.drop_tables += ["GSUB", "MATH", "FFTM", "kern"]
        opts.legacy_kern = False
        opts.hinting = True
        opts.glyph_names = False
        opts.name_IDs = ["*"]
        opts.name_languages = ["*"]
        opts.notdef_outline = True
        opts.recalc_bounds = True
        sub = subset.Subsetter(opts)
        sub.populate(unicodes=unicodes)
        sub.subset(font)
        if "GSUB" in font:
            del font["GSUB"]
        _write_kern(font, _gpos_kerning(font))
        _rename(font, style)
        path = out / dst_name
        font.save(path)
        written.append(path)
    (out / "LICENSE.txt").write_text(
        "The bundled fonts bprender-sans.ttf and bprender-sans-bold.ttf (family \"bprender sans\")\n"
        "are subsets of DejaVu Sans 2.37 and DejaVu Sans Bold, renamed as the licence below\n"
        "requires of modified fonts. They are rebuilt by tools/make_font.py.\n\n"
        + (licence or "").strip() + "\n", encoding="utf-8")
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=Path("/usr/share/fonts/truetype/dejavu"))
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).resolve().parent.parent / "bprender/assets/fonts")
    args = ap.parse_args()
    for path in build(args.src, args.out):
        font = TTFont(path)
        print(f"{path}: {path.stat().st_size / 1024:.1f} KB, {len(font.getGlyphOrder())} glyphs, "
              f"{len(font['kern'].kernTables[0].kernTable)} kerning pairs")


if __name__ == "__main__":
    main()
