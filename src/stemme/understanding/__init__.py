"""Message understanding: language, redaction, triage and district in one pipeline.

    analyze(text, context=None) -> Analysis
    analyze_many(texts, contexts=None) -> list[Analysis]   (stage by stage: faster in bulk)

Models (lingua, the scikit-learn triage model) load on first use, so importing this package
stays fast. See pipeline.py for the order of the stages and why.
"""

from stemme.understanding.pipeline import Analysis, AnalysisContext, analyze, analyze_many

__all__ = ["Analysis", "AnalysisContext", "analyze", "analyze_many"]
