"""Message understanding: language, redaction, triage and district in one pipeline.

    analyze(text, context=None) -> Analysis

Models (lingua, the scikit-learn triage model) load on first use, so importing this package
stays fast. See pipeline.py for the order of the stages and why.
"""

from stemme.understanding.pipeline import Analysis, AnalysisContext, analyze

__all__ = ["Analysis", "AnalysisContext", "analyze"]
