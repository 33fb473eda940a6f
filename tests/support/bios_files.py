"""Small, realistic BIOS and UMLS releases written on demand, with the counts a load must produce.

Shared by the reader unit tests and the loader integration tests. Nothing here touches a database.
Every returned count is computed from the fixture data (terms through `bios_kg.graph.text.normalize_term`),
so a change to the data keeps the counts right. Keys of the returned dicts:

- `concepts`: distinct concept ids named by the term rows (the loader creates concepts from them)
- `term_rows`: term rows the reader yields (`TermRecord`s)
- `terms`: distinct Term nodes, i.e. distinct (lang, normalize_term(text))
- `has_term`: distinct (concept, lang, norm) pairs, i.e. HAS_TERM edges
- `types`: distinct semantic types; `type_assignments`: distinct (concept, type) pairs
- `relations`: distinct (head, type, tail) after reverse names are folded onto the forward type
- `relation_types`: distinct relationship types; `definitions`: definition rows
- `rejected`: rows the reader rejects (0: the fixtures hold only valid rows)

The data contain no dangling concept references: every relation, type and definition names a concept
that has terms.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from bios_kg.graph.records import (
    Definition,
    Record,
    Relation,
    RelationType,
    SemanticType,
    TermRecord,
    TypeAssignment,
)
from bios_kg.graph.text import normalize_term
from bios_kg.ingest.readers import Item, Parsed, Rejected

R = TypeVar("R")

# -- BIOS -----------------------------------------------------------------------------------------
# (CID, SID, STR, LANG (BIOS code), TTY). "Fit" names both epilepsy and seizure (a shared Term);
# "diabetes-mellitus" and the full-width "２型糖尿病" normalize onto terms their concept already has.
BIOS_TERMS: list[tuple[str, str, str, str, str]] = [
    ("CN00000001", "S0000001", "Diabetes mellitus", "ENG", "PT"),
    ("CN00000001", "S0000002", "diabetes-mellitus", "ENG", "SY"),
    ("CN00000001", "S0000003", "DM", "ENG", "AB"),
    ("CN00000001", "S0000004", "糖尿病", "CHS", "PT"),
    ("CN00000002", "S0000005", "Type 2 diabetes mellitus", "ENG", "PT"),
    ("CN00000002", "S0000006", "Diabetes mellitus, type 2", "ENG", "SY"),
    ("CN00000002", "S0000007", "T2DM", "ENG", "AB"),
    ("CN00000002", "S0000008", "2型糖尿病", "CHS", "PT"),
    ("CN00000002", "S0000009", "２型糖尿病", "CHS", "SY"),
    ("CN00000003", "S0000010", "Epilepsy", "ENG", "PT"),
    ("CN00000003", "S0000011", "Seizure disorder", "ENG", "SY"),
    ("CN00000003", "S0000012", "Fit", "ENG", "SY"),
    ("CN00000003", "S0000013", "癫痫", "CHS", "PT"),
    ("CN00000003", "S0000014", "羊癫疯", "CHS", "SY"),
    ("CN00000004", "S0000015", "Seizure", "ENG", "PT"),
    ("CN00000004", "S0000016", "fit", "ENG", "SY"),
    ("CN00000004", "S0000017", "癫痫发作", "CHS", "PT"),
    ("CN00000005", "S0000018", "Aspirin", "ENG", "PT"),
    ("CN00000005", "S0000019", "Acetylsalicylic acid", "ENG", "SY"),
    ("CN00000005", "S0000020", "ASA", "ENG", "AB"),
    ("CN00000005", "S0000021", "阿司匹林", "CHS", "PT"),
    ("CN00000005", "S0000022", "乙酰水杨酸", "CHS", "SY"),
    ("CN00000006", "S0000023", "Heart", "ENG", "PT"),
    ("CN00000006", "S0000024", "Cor", "ENG", "SY"),
    ("CN00000006", "S0000025", "心脏", "CHS", "PT"),
    ("CN00000007", "S0000026", "Myocardial infarction", "ENG", "PT"),
    ("CN00000007", "S0000027", "Heart attack", "ENG", "SY"),
    ("CN00000007", "S0000028", "MI", "ENG", "AB"),
    ("CN00000007", "S0000029", "心肌梗死", "CHS", "PT"),
    ("CN00000007", "S0000030", "心肌梗塞", "CHS", "SY"),
    ("CN00000008", "S0000031", "Metformin", "ENG", "PT"),
    ("CN00000008", "S0000032", "Metformin hydrochloride", "ENG", "SY"),
    ("CN00000008", "S0000033", "二甲双胍", "CHS", "PT"),
    ("CN00000009", "S0000034", "Valproic acid", "ENG", "PT"),
    ("CN00000009", "S0000035", "Valproate", "ENG", "SY"),
    ("CN00000009", "S0000036", "丙戊酸", "CHS", "PT"),
    ("CN00000010", "S0000037", "Cardiovascular disease", "ENG", "PT"),
    ("CN00000010", "S0000038", "CVD", "ENG", "AB"),
    ("CN00000010", "S0000039", "心血管疾病", "CHS", "PT"),
    ("CN00000011", "S0000040", "Disease", "ENG", "PT"),
    ("CN00000011", "S0000041", "疾病", "CHS", "PT"),
    ("CN00000012", "S0000042", "Pancreas", "ENG", "PT"),
    ("CN00000012", "S0000043", "胰腺", "CHS", "PT"),
]
# STYID -> (English, Chinese)
BIOS_TYPES: dict[str, tuple[str, str]] = {
    "T001": ("Disease or Syndrome", "疾病或综合征"),
    "T002": ("Sign, Symptom, or Finding", "体征、症状或发现"),
    "T003": ("Chemical or Drug", "化学物质或药物"),
    "T004": ("Anatomy", "解剖结构"),
}
# CID -> STYIDs (seizure has two types)
BIOS_ASSIGNMENTS: dict[str, list[str]] = {
    "CN00000001": ["T001"], "CN00000002": ["T001"], "CN00000003": ["T001"],
    "CN00000004": ["T002", "T001"], "CN00000005": ["T003"], "CN00000006": ["T004"],
    "CN00000007": ["T001"], "CN00000008": ["T003"], "CN00000009": ["T003"],
    "CN00000010": ["T001"], "CN00000011": ["T001"], "CN00000012": ["T004"],
}
# RELID -> (English, Chinese), RELIDs as in docs/algorithms/bios.md §4.5
BIOS_RELATION_NAMES: dict[str, tuple[str, str]] = {
    "1": ("is_a", "是一种"),
    "2": ("reverse_is_a", "反向是一种"),
    "5": ("may_treat", "可能治疗"),
    "6": ("reverse_may_treat", "可能被治疗"),
    "11": ("may_cause", "可能导致"),
    "12": ("reverse_may_cause", "可能由其导致"),
}
# (RID, CID_HEAD, CID_TAIL, RELID); R6 folds onto R1 (a duplicate), R7 folds to CN04 IS_A CN11.
BIOS_RELATIONS: list[tuple[str, str, str, str]] = [
    ("R1", "CN00000002", "CN00000001", "1"),
    ("R2", "CN00000007", "CN00000010", "1"),
    ("R3", "CN00000010", "CN00000011", "1"),
    ("R4", "CN00000001", "CN00000011", "1"),
    ("R5", "CN00000003", "CN00000011", "1"),
    ("R6", "CN00000001", "CN00000002", "2"),
    ("R7", "CN00000011", "CN00000004", "2"),
    ("R8", "CN00000008", "CN00000002", "5"),
    ("R9", "CN00000005", "CN00000007", "5"),
    ("R10", "CN00000009", "CN00000003", "5"),
    ("R11", "CN00000009", "CN00000004", "5"),
    ("R12", "CN00000001", "CN00000010", "11"),
]
# (CID, LANG, DEF)
BIOS_DEFINITIONS: list[tuple[str, str, str]] = [
    ("CN00000001", "ENG", "A group of metabolic disorders characterized by high blood sugar over a prolonged period."),
    ("CN00000001", "CHS", "一组以长期高血糖为特征的代谢性疾病。"),
    ("CN00000003", "ENG", "A neurological disorder characterized by recurrent unprovoked seizures."),
    ("CN00000005", "ENG", "A salicylate used to reduce pain, fever or inflammation."),
]

BIOS_FORMATS = ("2022", "2022-tab", "2023", "2021")
_ISO = {"ENG": "en", "CHS": "zh"}
_SHORT = {"ENG": "EN", "CHS": "ZH"}
_SWAPPED = {"2", "6", "12"}  # reverse RELIDs


def _write(path: Path, rows: list[list[str]], delimiter: str, header: list[str] | None = None) -> None:
    lines = [delimiter.join(header)] if header else []
    lines += [delimiter.join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_bios_release(folder: Path, fmt: str = "2022") -> dict[str, int]:
    """Write a bilingual BIOS release into `folder` and return the counts a load of it must produce.

    `fmt`: "2022" (pipe, no header, ENG/CHS, all six files), "2022-tab" (the same files tab-separated
    with header rows), "2023" (`Concepts.txt` tab, EN/ZH, and `Semtypes 20231215.txt`), "2021"
    (`Concepts 2021-11-05.txt` cid/tid/str with a header, and `Semtypes 2021-11-05.txt` with `a|b` types).
    The 2023 and 2021 layouts carry no relations, relation names or definitions.
    """
    if fmt not in BIOS_FORMATS:
        raise ValueError(f"unknown BIOS fixture format {fmt!r}; known: {', '.join(BIOS_FORMATS)}")
    folder.mkdir(parents=True, exist_ok=True)
    full = fmt in ("2022", "2022-tab")
    if full:
        tab = fmt == "2022-tab"
        delimiter = "\t" if tab else "|"

        def header(*names: str) -> list[str] | None:
            return list(names) if tab else None

        _write(folder / "SemanticNetwork.txt",
               [[styid, lang, names[i]] for styid, names in BIOS_TYPES.items()
                for i, lang in enumerate(("ENG", "CHS"))],
               delimiter, header("STYID", "LANG", "STY"))
        _write(folder / "ConceptTerms.txt", [[c, s, t, lang, tty] for c, s, t, lang, tty in BIOS_TERMS],
               delimiter, header("CID", "SID", "STR", "LANG", "TTY"))
        _write(folder / "SemanticTypes.txt",
               [[cid, styid, BIOS_TYPES[styid][0]] for cid, styids in BIOS_ASSIGNMENTS.items() for styid in styids],
               delimiter, header("CID", "STYID", "STY"))
        _write(folder / "RelationNames.txt",
               [[relid, lang, names[i]] for relid, names in BIOS_RELATION_NAMES.items()
                for i, lang in enumerate(("ENG", "CHS"))],
               delimiter, header("RELID", "LANG", "REL"))
        _write(folder / "Relations.txt",
               [[rid, h, t, relid, BIOS_RELATION_NAMES[relid][0]] for rid, h, t, relid in BIOS_RELATIONS],
               delimiter, header("RID", "CID_HEAD", "CID_TAIL", "RELID", "REL"))
        _write(folder / "Definitions.txt", [list(row) for row in BIOS_DEFINITIONS],
               delimiter, header("CID", "LANG", "DEF"))
    elif fmt == "2023":
        _write(folder / "Concepts.txt", [[c, s, t, tty, _SHORT[lang]] for c, s, t, lang, tty in BIOS_TERMS], "\t")
        _write(folder / "Semtypes 20231215.txt",
               [[cid, BIOS_TYPES[styid][0]] for cid, styids in BIOS_ASSIGNMENTS.items() for styid in styids], "\t")
    else:
        _write(folder / "Concepts 2021-11-05.txt", [[c, s, t] for c, s, t, _, _ in BIOS_TERMS], "\t",
               ["cid", "tid", "str"])
        _write(folder / "Semtypes 2021-11-05.txt",
               [[cid, "|".join(BIOS_TYPES[s][0] for s in styids)] for cid, styids in BIOS_ASSIGNMENTS.items()],
               "\t", ["cid", "sty"])

    triples = {
        (tail, name, head) if relid in _SWAPPED else (head, name, tail)
        for _, head, tail, relid in BIOS_RELATIONS
        for name in [BIOS_RELATION_NAMES[relid][0].removeprefix("reverse_")]
    }
    return {
        "concepts": len({c for c, *_ in BIOS_TERMS}),
        "term_rows": len(BIOS_TERMS),
        "terms": len({(_ISO[lang], normalize_term(t)) for _, _, t, lang, _ in BIOS_TERMS}),
        "has_term": len({(c, _ISO[lang], normalize_term(t)) for c, _, t, lang, _ in BIOS_TERMS}),
        "types": len(BIOS_TYPES),
        "type_assignments": sum(len(set(styids)) for styids in BIOS_ASSIGNMENTS.values()),
        "relations": len(triples) if full else 0,
        "relation_types": len({name for _, name, _ in triples}) if full else 0,
        "definitions": len(BIOS_DEFINITIONS) if full else 0,
        "rejected": 0,
    }


# -- UMLS -----------------------------------------------------------------------------------------
# MRCONSO: (CUI, LAT, TS, STT, ISPREF, AUI, SAB, TTY, CODE, STR, SUPPRESS). "Fits" names both
# epilepsy and seizures; A0000013 is obsolete (SUPPRESS O) and left out by default.
UMLS_CONSO: list[tuple[str, str, str, str, str, str, str, str, str, str, str]] = [
    ("C0011849", "ENG", "P", "PF", "Y", "A0000001", "MSH", "MH", "D003920", "Diabetes Mellitus", "N"),
    ("C0011849", "ENG", "P", "VO", "Y", "A0000002", "SNOMEDCT_US", "PT", "73211009", "Diabetes mellitus", "N"),
    ("C0011849", "ENG", "S", "PF", "Y", "A0000003", "MSH", "EN", "D003920", "Diabetes", "N"),
    ("C0011849", "CHI", "P", "PF", "Y", "A0000004", "MSHCHI", "MH", "D003920", "糖尿病", "N"),
    ("C0011849", "FRE", "P", "PF", "Y", "A0000005", "MSHFRE", "MH", "D003920", "Diabète", "N"),
    ("C0011860", "ENG", "P", "PF", "Y", "A0000006", "MSH", "MH", "D003924", "Diabetes Mellitus, Type 2", "N"),
    ("C0011860", "ENG", "S", "PF", "Y", "A0000007", "SNOMEDCT_US", "SY", "44054006", "Type 2 diabetes mellitus",
     "N"),
    ("C0011860", "ENG", "S", "PF", "N", "A0000008", "MSH", "EN", "D003924", "NIDDM", "N"),
    ("C0011860", "CHI", "P", "PF", "Y", "A0000009", "MSHCHI", "MH", "D003924", "2型糖尿病", "N"),
    ("C0014544", "ENG", "P", "PF", "Y", "A0000010", "MSH", "MH", "D004827", "Epilepsy", "N"),
    ("C0014544", "ENG", "S", "PF", "Y", "A0000011", "SNOMEDCT_US", "SY", "84757009", "Seizure disorder", "N"),
    ("C0014544", "ENG", "S", "PF", "Y", "A0000012", "SNOMEDCT_US", "SY", "84757009", "Fits", "N"),
    ("C0014544", "ENG", "S", "PF", "Y", "A0000013", "SNOMEDCT_US", "OAP", "84757009", "Epilepsy (old)", "O"),
    ("C0014544", "CHI", "P", "PF", "Y", "A0000014", "MSHCHI", "MH", "D004827", "癫痫", "N"),
    ("C0036572", "ENG", "P", "PF", "Y", "A0000015", "MSH", "MH", "D012640", "Seizures", "N"),
    ("C0036572", "ENG", "S", "PF", "Y", "A0000016", "SNOMEDCT_US", "SY", "91175000", "fits", "N"),
    ("C0036572", "CHI", "P", "PF", "Y", "A0000017", "MSHCHI", "MH", "D012640", "癫痫发作", "N"),
    ("C0004057", "ENG", "P", "PF", "Y", "A0000018", "MSH", "MH", "D001241", "Aspirin", "N"),
    ("C0004057", "ENG", "S", "PF", "Y", "A0000019", "MSH", "EN", "D001241", "Acetylsalicylic Acid", "N"),
    ("C0004057", "CHI", "P", "PF", "Y", "A0000020", "MSHCHI", "MH", "D001241", "阿司匹林", "N"),
    ("C0018787", "ENG", "P", "PF", "Y", "A0000021", "MSH", "MH", "D006321", "Heart", "N"),
    ("C0018787", "CHI", "P", "PF", "Y", "A0000022", "MSHCHI", "MH", "D006321", "心脏", "N"),
    ("C0027051", "ENG", "P", "PF", "Y", "A0000023", "MSH", "MH", "D009203", "Myocardial Infarction", "N"),
    ("C0027051", "ENG", "S", "PF", "Y", "A0000024", "SNOMEDCT_US", "SY", "22298006", "Heart attack", "N"),
    ("C0027051", "CHI", "P", "PF", "Y", "A0000025", "MSHCHI", "MH", "D009203", "心肌梗死", "N"),
    ("C0025598", "ENG", "P", "PF", "Y", "A0000026", "MSH", "MH", "D008687", "Metformin", "N"),
    ("C0025598", "CHI", "P", "PF", "Y", "A0000027", "MSHCHI", "MH", "D008687", "二甲双胍", "N"),
    ("C0042291", "ENG", "P", "PF", "Y", "A0000028", "MSH", "MH", "D014635", "Valproic Acid", "N"),
    ("C0007222", "ENG", "P", "PF", "Y", "A0000029", "MSH", "MH", "D002318", "Cardiovascular Diseases", "N"),
    ("C0012634", "ENG", "P", "PF", "Y", "A0000030", "MSH", "MH", "D004194", "Disease", "N"),
    ("C0012634", "CHI", "P", "PF", "Y", "A0000031", "MSHCHI", "MH", "D004194", "疾病", "N"),
]
# MRSTY: (CUI, TUI, STN, STY)
UMLS_STY: list[tuple[str, str, str, str]] = [
    ("C0011849", "T047", "B2.2.1.2.1", "Disease or Syndrome"),
    ("C0011860", "T047", "B2.2.1.2.1", "Disease or Syndrome"),
    ("C0014544", "T047", "B2.2.1.2.1", "Disease or Syndrome"),
    ("C0036572", "T184", "A2.2.2", "Sign or Symptom"),
    ("C0004057", "T109", "A1.4.1.2.1", "Organic Chemical"),
    ("C0004057", "T121", "A1.4.1.1.1", "Pharmacologic Substance"),
    ("C0018787", "T023", "A1.2.3.1", "Body Part, Organ, or Organ Component"),
    ("C0027051", "T047", "B2.2.1.2.1", "Disease or Syndrome"),
    ("C0025598", "T109", "A1.4.1.2.1", "Organic Chemical"),
    ("C0025598", "T121", "A1.4.1.1.1", "Pharmacologic Substance"),
    ("C0042291", "T121", "A1.4.1.1.1", "Pharmacologic Substance"),
    ("C0007222", "T047", "B2.2.1.2.1", "Disease or Syndrome"),
    ("C0012634", "T047", "B2.2.1.2.1", "Disease or Syndrome"),
]
# MRREL: (CUI1, REL, CUI2, RELA, RUI, SAB, SUPPRESS, expected (head, type, tail) or None when skipped).
UMLS_REL: list[tuple[str, str, str, str, str, str, str, tuple[str, str, str] | None]] = [
    ("C0011860", "PAR", "C0011849", "inverse_isa", "R000001", "SNOMEDCT_US", "N", ("C0011860", "IS_A", "C0011849")),
    ("C0011849", "CHD", "C0011860", "isa", "R000002", "SNOMEDCT_US", "N", ("C0011860", "IS_A", "C0011849")),
    ("C0011860", "PAR", "C0011849", "", "R000003", "MSH", "N", ("C0011860", "IS_A", "C0011849")),
    ("C0012634", "CHD", "C0007222", "", "R000004", "MSH", "N", ("C0007222", "IS_A", "C0012634")),
    ("C0027051", "RB", "C0007222", "", "R000005", "MSH", "N", ("C0027051", "BROADER", "C0007222")),
    ("C0012634", "RN", "C0014544", "", "R000006", "MSH", "N", ("C0014544", "BROADER", "C0012634")),
    ("C0011860", "RO", "C0025598", "may_treat", "R000007", "MED-RT", "N", ("C0025598", "MAY_TREAT", "C0011860")),
    ("C0025598", "RO", "C0011860", "may_be_treated_by", "R000008", "MED-RT", "N",
     ("C0025598", "MAY_TREAT", "C0011860")),
    ("C0027051", "RO", "C0004057", "may_treat", "R000009", "MED-RT", "N", ("C0004057", "MAY_TREAT", "C0027051")),
    ("C0014544", "RO", "C0042291", "may_treat", "R000010", "MED-RT", "N", ("C0042291", "MAY_TREAT", "C0014544")),
    ("C0027051", "RO", "C0018787", "", "R000011", "MSH", "N", ("C0018787", "RELATED_TO", "C0027051")),
    ("C0018787", "RO", "C0027051", "has_finding_site", "R000012", "SNOMEDCT_US", "N",
     ("C0018787", "FINDING_SITE_OF", "C0027051")),  # has_X is folded onto X_of, the pair's forward name
    ("C0011849", "SY", "C0011849", "", "R000013", "MSH", "N", None),
    ("C0014544", "SIB", "C0036572", "", "R000014", "MSH", "N", None),
    ("C0004057", "RO", "C0004057", "", "R000015", "MSH", "N", None),
    ("C0036572", "PAR", "C0012634", "", "R000016", "MSH", "O", None),
]
# MRDEF: (CUI, AUI, SAB, DEF)
UMLS_DEF: list[tuple[str, str, str, str]] = [
    ("C0011849", "A0000001", "MSH", "A heterogeneous group of disorders characterized by hyperglycemia."),
    ("C0014544", "A0000010", "MSH", "A disorder characterized by recurrent episodes of paroxysmal brain dysfunction."),
    ("C0004057", "A0000018", "MSH", "The prototypical analgesic used in the treatment of mild to moderate pain."),
]
UMLS_RELEASE = "2024AA"
_UMLS_ISO = {"ENG": "en", "CHI": "zh", "FRE": "fr"}


def _rrf(path: Path, rows: list[list[str]]) -> None:
    path.write_text("".join("|".join(row) + "|\n" for row in rows), encoding="utf-8")


def write_umls_subset(folder: Path) -> dict[str, int]:
    """Write a small UMLS release (`release.dat` and `META/MR*.RRF`) and return the counts a load with
    the reader's defaults (every language and SAB, suppressed rows left out) must produce."""
    meta = folder / "META"
    meta.mkdir(parents=True, exist_ok=True)
    (folder / "release.dat").write_text(f"umls.release.name={UMLS_RELEASE}\numls.release.date=20240506\n")
    _rrf(meta / "MRCONSO.RRF", [
        [cui, lat, ts, f"L{aui[1:]}", stt, f"S{aui[1:]}", ispref, aui, "", code if sab != "MSH" else "", code, sab,
         tty, code, text, "0", suppress, ""]
        for cui, lat, ts, stt, ispref, aui, sab, tty, code, text, suppress in UMLS_CONSO
    ])
    _rrf(meta / "MRSTY.RRF",
         [[cui, tui, stn, sty, f"AT{i:07d}", ""] for i, (cui, tui, stn, sty) in enumerate(UMLS_STY)])
    _rrf(meta / "MRREL.RRF", [
        [cui1, "", "CUI", rel, cui2, "", "CUI", rela, rui, "", sab, sab, "", "", suppress, ""]
        for cui1, rel, cui2, rela, rui, sab, suppress, _ in UMLS_REL
    ])
    _rrf(meta / "MRDEF.RRF", [[cui, aui, f"AT{i:08d}", "", sab, text, "N", ""]
                             for i, (cui, aui, sab, text) in enumerate(UMLS_DEF)])

    kept = [row for row in UMLS_CONSO if row[10] not in {"O", "E", "Y"}]
    triples = {expected for *_, expected in UMLS_REL if expected is not None}
    return {
        "concepts": len({row[0] for row in kept}),
        "term_rows": len(kept),
        "terms": len({(_UMLS_ISO[row[1]], normalize_term(row[9])) for row in kept}),
        "has_term": len({(row[0], _UMLS_ISO[row[1]], normalize_term(row[9])) for row in kept}),
        "types": len({tui for _, tui, _, _ in UMLS_STY}),
        "type_assignments": len({(cui, tui) for cui, tui, _, _ in UMLS_STY}),
        "relations": len(triples),
        "relation_types": len({rel_type for _, rel_type, _ in triples}),
        "definitions": len(UMLS_DEF),
        "rejected": 0,
    }


# -- reading items back ------------------------------------------------------------------------------

def records(items: Iterable[Item], kind: type[R]) -> list[R]:
    return [i.record for i in items if isinstance(i, Parsed) and isinstance(i.record, kind)]


def all_records(items: Iterable[Item]) -> list[Record]:
    return [i.record for i in items if isinstance(i, Parsed)]


def rejected(items: Iterable[Item]) -> list[Rejected]:
    return [i for i in items if isinstance(i, Rejected)]


def counts_of(items: Iterable[Item]) -> dict[str, int]:
    """What a reader's items amount to in the graph, in the keys the fixture writers return."""
    items = list(items)
    terms = records(items, TermRecord)
    return {
        "concepts": len({t.concept_id for t in terms}),
        "term_rows": len(terms),
        "terms": len({(t.lang, normalize_term(t.text)) for t in terms}),
        "has_term": len({(t.concept_id, t.lang, normalize_term(t.text)) for t in terms}),
        "types": len({t.id for t in records(items, SemanticType)}),
        "type_assignments": len({(a.concept_id, a.type_id) for a in records(items, TypeAssignment)}),
        "relations": len({(r.head, r.type, r.tail) for r in records(items, Relation)}),
        "relation_types": len({t.id for t in records(items, RelationType)}),
        "definitions": len(records(items, Definition)),
        "rejected": len(rejected(items)),
    }
