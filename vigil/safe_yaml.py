"""Loading untrusted YAML: the safe loader with limits on size, nesting depth and alias expansion, no duplicate keys.

`yaml.safe_load` alone builds a billion-laughs document lazily (aliases share nodes), but anything that walks
the result afterwards (env substitution, validation) expands it; a 50,000-deep document overflows the
recursive composer; a repeated key silently replaces the first (a second camera with the same id wins).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class YamlLimits:
    """What one YAML document may hold."""

    max_bytes: int = 2 * 1024 * 1024
    max_depth: int = 64  # nested mappings and sequences
    max_nodes: int = 200_000  # scalars, mappings and sequences once every alias is expanded


class YamlLimitError(yaml.MarkedYAMLError):
    """A document broke a limit or repeated a key; `problem` says which, `problem_mark` where."""

    def __init__(self, problem: str, mark: yaml.Mark | None = None):
        super().__init__(problem=problem, problem_mark=mark)


def _expanded_size(root: Node, limit: int) -> int:
    """Nodes in the document with every alias expanded, counted in linear time (aliases share node objects);
    a document that holds itself (`&a [*a]`) is infinite."""
    sizes: dict[int, int] = {}
    entered: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:  # post-order without recursion
        node, done = stack.pop()
        if done:
            sizes[id(node)] = min(limit + 1, 1 + sum(sizes[id(c)] for c in _children(node)))
            continue
        if id(node) in sizes:
            continue
        if id(node) in entered:
            raise YamlLimitError("an alias refers to a mapping or sequence that holds it; expected a finite document",
                                 node.start_mark)
        entered.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)
    return sizes[id(root)]


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


class LimitedSafeLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses too deep nesting and duplicate keys (merge keys `<<` still work)."""

    limits = YamlLimits()

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
        event = self.peek_event()
        if not isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > self.limits.max_depth:
                raise YamlLimitError(f"nesting deeper than {self.limits.max_depth} levels; expected a shallower "
                                     f"document", event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):  # noqa: ANN001 - PyYAML's signature
        if isinstance(node, MappingNode):
            seen: dict[Any, Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # unhashable: the base constructor gives its own error
                if first is not None:
                    raise YamlLimitError(f"duplicate key {key!r} (first at line {first.start_mark.line + 1}); "
                                         f"expected each key once in a mapping, as a repeat silently replaces "
                                         f"the first", key_node.start_mark)
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, limits: YamlLimits = YamlLimits()) -> Any:
    """One YAML document as Python objects; `yaml.YAMLError` (a `YamlLimitError` for a broken limit) otherwise."""
    size = len(text.encode("utf-8", errors="replace"))
    if size > limits.max_bytes:
        raise YamlLimitError(f"expected at most {limits.max_bytes // 1024} KiB of YAML, found {size // 1024} KiB")
    loader_cls = type("_Loader", (LimitedSafeLoader,), {"limits": limits})
    loader = loader_cls(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, limits.max_nodes) > limits.max_nodes:
            raise YamlLimitError(f"more than {limits.max_nodes} values once its aliases (*name) are expanded "
                                 f"(a 'billion laughs' document?); expected a smaller document", node.start_mark)
        return loader.construct_document(node)
    finally:
        loader.dispose()
