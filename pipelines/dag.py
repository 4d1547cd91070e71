"""The few graph walks a run needs on every start (topological order, ancestors, descendants, is there a cycle),
in plain Python over dicts. networkx stays the graph library for the rest (naming a cycle in an error): this
module exists so that a cached rerun from the CLI does not pay networkx's import (about a fifth of its
start-up, issue 19) to sort a handful of nodes. The order is networkx's `topological_sort` (Kahn's algorithm
by generations, nodes and successors in insertion order), so runs start nodes in the order they always did.
"""
from __future__ import annotations

from collections.abc import Iterable


class Dag:
    """A directed graph of hashable nodes; edges added twice count once, as in networkx.DiGraph."""

    def __init__(self, nodes: Iterable[str] = (), edges: Iterable[tuple[str, str]] = ()):
        self.succ: dict[str, dict[str, None]] = {}
        self.pred: dict[str, dict[str, None]] = {}
        for node in nodes:
            self.add_node(node)
        for source, target in edges:
            self.add_node(source)
            self.add_node(target)
            self.succ[source][target] = None
            self.pred[target][source] = None

    def add_node(self, node: str) -> None:
        if node not in self.succ:
            self.succ[node], self.pred[node] = {}, {}

    @property
    def nodes(self) -> list[str]:
        return list(self.succ)

    def __contains__(self, node: str) -> bool:
        return node in self.succ

    def topological_order(self) -> list[str] | None:
        """The nodes in networkx's topological_sort order, or None if the graph has a cycle."""
        indegree = {node: len(parents) for node, parents in self.pred.items() if parents}
        generation = [node for node, parents in self.pred.items() if not parents]
        order: list[str] = []
        while generation:
            order += generation
            following = []
            for node in generation:
                for child in self.succ[node]:
                    indegree[child] -= 1
                    if indegree[child] == 0:
                        following.append(child)
                        del indegree[child]
            generation = following
        return None if indegree else order

    def _reach(self, start: str, links: dict[str, dict[str, None]]) -> set[str]:
        seen: set[str] = set()
        stack = list(links[start])
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(links[node])
        return seen

    def ancestors(self, node: str) -> set[str]:
        return self._reach(node, self.pred)

    def descendants(self, node: str) -> set[str]:
        return self._reach(node, self.succ)
