"""Write a moral graph out: graph.json (the contracts' document), per-context views, GraphML
and node-link JSON.

Pure computation: a ``MoralGraph`` or its document in, dicts and strings out.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping

import networkx as nx

from moralgraph.graph.rules import SCHEME, Edge
from moralgraph.graph.scoring import MoralGraph


def edge_as_dict(edge: Edge) -> dict:
    """Return ``edge`` in graph.json's shape."""
    data = {
        "from": edge.from_id,
        "to": edge.to_id,
        "contexts": list(edge.contexts),
        "counts": edge.counts(),
        "strength": edge.strength,
    }
    if edge.entropy is not None:
        data["entropy"] = edge.entropy
    return data


def to_json(graph: MoralGraph, *, values: Iterable[Mapping], contexts: Iterable[Mapping]) -> dict:
    """Return the contracts' ``graph.json`` document.

    ``values`` is a catalogue of ``{"id", "title", "description", "policies", "source_id"?}``;
    only the values that received a vote appear. ``analysis`` (an addition to the contract)
    carries each context's winner, support and cycles.
    """
    return {
        "scheme": SCHEME,
        "rule": graph.rule,
        "values": [_value_dict(value) for value in values if value["id"] in graph.value_ids],
        "contexts": [{"id": context["id"], "text": context["text"]} for context in contexts],
        "edges": [edge_as_dict(edge) for edge in graph.edges],
        "scores": {str(context_id): score.pagerank for context_id, score in graph.scores.items()},
        "analysis": {
            str(context_id): {
                "winner": score.winner,
                "support": score.support,
                "cycles": score.cycles,
            }
            for context_id, score in graph.scores.items()
        },
    }


def _value_dict(value: Mapping) -> dict:
    data = {key: value[key] for key in ("id", "title", "description", "policies")}
    if value.get("source_id") not in (None, ""):
        data["source_id"] = value["source_id"]
    return data


def edges_by_context(graph: MoralGraph) -> dict[Hashable, list[Edge]]:
    """Return the graph's edges grouped by the contexts they list."""
    grouped: dict[Hashable, list[Edge]] = defaultdict(list)
    for edge in graph.edges:
        for context_id in edge.contexts:
            grouped[context_id].append(edge)
    return grouped


def context_view(
    graph: MoralGraph, context_id: Hashable, *, grouped: Mapping | None = None
) -> dict:
    """Return what the explorer draws for one context: ranked values, edges, winner, cycles.

    Pass ``grouped`` (from ``edges_by_context``) when viewing many contexts of one graph.
    """
    score = graph.scores.get(context_id)
    if score is None:
        return {"context": context_id, "values": [], "edges": [], "winner": None, "cycles": []}
    if grouped is None:
        context_edges = [edge for edge in graph.edges if context_id in edge.contexts]
    else:
        context_edges = grouped.get(context_id, [])
    edges = [edge_as_dict(edge) for edge in context_edges]
    ranked = sorted(score.pagerank.items(), key=lambda item: -item[1])
    return {
        "context": context_id,
        "values": [{"id": value_id, "pagerank": rank} for value_id, rank in ranked],
        "edges": edges,
        "winner": score.winner,
        "support": score.support,
        "cycles": score.cycles,
    }


def to_networkx(document: Mapping) -> nx.MultiDiGraph:
    """Return a graph.json ``document`` as a networkx multigraph (one edge per edge entry)."""
    graph = nx.MultiDiGraph(scheme=document["scheme"], rule=document["rule"])
    texts = {str(context["id"]): context["text"] for context in document.get("contexts", [])}
    scores = document.get("scores", {})
    for value in document["values"]:
        # One scalar per context (Gephi reads no lists): the value's PageRank there.
        per_context = {
            f"score_context_{context_id}": ranks[value["id"]]
            for context_id, ranks in scores.items()
            if value["id"] in ranks
        }
        graph.add_node(
            value["id"],
            label=value["title"],
            title=value["title"],
            description=value["description"],
            policies=list(value["policies"]),
            source_id=value.get("source_id", ""),
            **per_context,
        )
    for edge in document["edges"]:
        graph.add_edge(
            edge["from"],
            edge["to"],
            contexts=list(edge["contexts"]),
            context_names=" | ".join(texts.get(str(c), str(c)) for c in edge["contexts"]),
            weight=edge["strength"],
            strength=edge["strength"],
            **{key: count for key, count in edge["counts"].items()},
        )
    return graph


def _graphml_safe(value: object) -> object:
    # GraphML holds only scalars: lists become JSON text, None an empty string.
    if value is None:
        return ""
    if isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, ensure_ascii=False)


def to_graphml(document: Mapping) -> str:
    """Return a graph.json ``document`` as GraphML text (opens in Gephi).

    Edges carry ``context_names`` beside the ids; nodes carry ``score_context_<id>``, their
    PageRank in each context; the graph names each context as ``context_<id>``.
    """
    graph = to_networkx(document)
    names = {f"context_{c['id']}": c["text"] for c in document.get("contexts", [])}
    safe = nx.MultiDiGraph(**{k: _graphml_safe(v) for k, v in graph.graph.items()}, **names)
    safe.add_nodes_from(
        (node, {k: _graphml_safe(v) for k, v in data.items()})
        for node, data in graph.nodes(data=True)
    )
    safe.add_edges_from(
        (a, b, key, {k: _graphml_safe(v) for k, v in data.items()})
        for a, b, key, data in graph.edges(keys=True, data=True)
    )
    buffer = io.BytesIO()
    nx.write_graphml(safe, buffer, encoding="utf-8")
    return buffer.getvalue().decode("utf-8")


def to_node_link(document: Mapping) -> dict:
    """Return a graph.json ``document`` as networkx node-link data (edges under ``"edges"``)."""
    return nx.node_link_data(to_networkx(document), edges="edges")


FORMATS = {
    "json": "application/json",
    "graphml": "application/graphml+xml",
    "node-link": "application/json",
}


def render(document: Mapping, fmt: str = "json") -> str:
    """Return a graph.json ``document`` as text in ``fmt``: json, graphml or node-link."""
    if fmt == "json":
        return json.dumps(document, ensure_ascii=False, indent=1)
    if fmt == "graphml":
        return to_graphml(document)
    if fmt == "node-link":
        return json.dumps(to_node_link(document), ensure_ascii=False, indent=1)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
