"""``duckpipe lineage MODEL[.COLUMN]``: where a column comes from, across models."""

from __future__ import annotations

import json

import click

from duckpipe.cli._common import console_for, format_option, project_from


@click.command("lineage")
@click.argument("target")
@format_option
@click.pass_context
def command(ctx: click.Context, target: str, fmt: str) -> None:
    """Trace MODEL.COLUMN (or every column of MODEL) back to seeds, sources and lake tables."""
    from duckpipe.query import open_query_engine
    from duckpipe.transform.graph import project_graph
    from duckpipe.transform.lineage import Lineage, leaf_schemas

    project = project_from(ctx)
    graph = project_graph(project)
    engine = open_query_engine(project)
    try:
        lineage = Lineage(graph, leaf_schemas(engine, graph))
    finally:
        engine.close()
    model, _, column = target.partition(".")
    nodes = [lineage.column(model, column)] if column else lineage.model(model)
    if fmt == "json":
        click.echo(json.dumps([n.to_dict() for n in nodes], indent=2))
    elif column:
        for line in nodes[0].lines():
            click.echo(line)
    else:
        rows = [
            (
                n.column,
                n.expression or "",
                ", ".join(f"{u.relation}.{u.column}" for u in n.upstream),
                ", ".join(f"{o.relation}.{o.column}" for o in n.origins() if o is not n),
            )
            for n in nodes
        ]
        console_for(fmt).table(model, ["column", "computed as", "reads", "origin"], rows)
