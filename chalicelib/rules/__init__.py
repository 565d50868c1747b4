"""Rules: the query language owners write in listen.yaml and the matcher compiled from it."""

from chalicelib.rules.matcher import RuleDefinition, RuleSet, SearchTerm, compile_rules
from chalicelib.rules.normalize import NormalizedText, fold, normalize
from chalicelib.rules.query import And, Field, Near, Node, Not, Or, QueryError, Term, parse_query

__all__ = [
    "And",
    "Field",
    "Near",
    "Node",
    "NormalizedText",
    "Not",
    "Or",
    "QueryError",
    "RuleDefinition",
    "RuleSet",
    "SearchTerm",
    "Term",
    "compile_rules",
    "fold",
    "normalize",
    "parse_query",
]
