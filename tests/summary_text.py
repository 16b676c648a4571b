"""Reading the text of ``model.summary()`` in tests."""


def summary_lines(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return lines


def summary_rows(lines):
    """The cells of each row of a summary's table, the lines of a wrapped cell joined."""
    rows, current = [], None
    for line in lines:
        if line.startswith("│"):
            cells = [cell.strip() for cell in line.split("│")[1:-1]]
            current = cells if current is None else [
                f"{a} {b}".strip() for a, b in zip(current, cells)]
        elif current is not None:
            rows.append(current)
            current = None
    return rows
