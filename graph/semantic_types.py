"""The semantic types that package sources assign, as UMLS Semantic Network types.

Sources without semantic types of their own (HPO, ICD-10, HPO annotations, CMeKG) are typed with the
Semantic Network's types, under the same ids the UMLS reader uses (`UMLS_STY:T047`), so concepts of
every source share one type vocabulary. Chinese names follow the usual translations of the
Semantic Network.
"""

from __future__ import annotations

from bios_kg.graph.records import SemanticType

TYPE_PREFIX = "UMLS_STY:"

_TYPES: tuple[tuple[str, str, str], ...] = (
    ("T005", "Virus", "病毒"),
    ("T007", "Bacterium", "细菌"),
    ("T017", "Anatomical Structure", "解剖结构"),
    ("T019", "Congenital Abnormality", "先天性异常"),
    ("T023", "Body Part, Organ, or Organ Component", "身体部位、器官或器官组分"),
    ("T028", "Gene or Genome", "基因或基因组"),
    ("T033", "Finding", "发现"),
    ("T037", "Injury or Poisoning", "损伤或中毒"),
    ("T045", "Genetic Function", "遗传功能"),
    ("T046", "Pathologic Function", "病理功能"),
    ("T047", "Disease or Syndrome", "疾病或综合征"),
    ("T048", "Mental or Behavioral Dysfunction", "精神或行为障碍"),
    ("T059", "Laboratory Procedure", "实验室操作"),
    ("T060", "Diagnostic Procedure", "诊断操作"),
    ("T061", "Therapeutic or Preventive Procedure", "治疗或预防操作"),
    ("T079", "Temporal Concept", "时间概念"),
    ("T080", "Qualitative Concept", "定性概念"),
    ("T081", "Quantitative Concept", "定量概念"),
    ("T091", "Biomedical Occupation or Discipline", "生物医学职业或学科"),
    ("T093", "Health Care Related Organization", "医疗卫生相关机构"),
    ("T109", "Organic Chemical", "有机化学物"),
    ("T121", "Pharmacologic Substance", "药理物质"),
    ("T167", "Substance", "物质"),
    ("T184", "Sign or Symptom", "体征或症状"),
    ("T191", "Neoplastic Process", "肿瘤过程"),
    ("T200", "Clinical Drug", "临床药物"),
    ("T201", "Clinical Attribute", "临床属性"),
)

SEMANTIC_TYPES: dict[str, SemanticType] = {
    tui: SemanticType(TYPE_PREFIX + tui, name, name_zh) for tui, name, name_zh in _TYPES
}


def semantic_type(tui: str) -> SemanticType:
    """The SemanticType record for a TUI of the table above (KeyError for one it does not hold)."""
    return SEMANTIC_TYPES[tui]
