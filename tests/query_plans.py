"""Reading PostgreSQL's plans (EXPLAIN (FORMAT JSON)) in tests."""


def plan_nodes(node):
    """`node` of a JSON plan and every node under it, depth first."""
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)
