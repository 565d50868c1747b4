"""The fault suite's table: each cell's counts against the replay server's ground truth, and the
totals ``fault_cells``, ``fault_lost_silently`` and ``fault_duplicates``, printed after the run."""

from __future__ import annotations

from typing import Any

from tests.faults.harness import RESULTS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    write = terminalreporter.write_line
    write("")
    write(f"{'fault cell':<44} {'expect':>6} {'stored':>6} {'once':>5} {'twice+':>6} {'lost':>5} "
          f"{'seen':>5} {'ok':>3}  note")
    for cell in RESULTS:
        write(f"{cell.name:<44} {cell.expected:>6} {cell.stored:>6} {cell.once:>5} {cell.more:>6} {cell.lost:>5} "
              f"{cell.lost_visible:>5} {'yes' if cell.ok else 'NO':>3}  {cell.note}")
    write(f"fault_cells: {len(RESULTS)}")
    write(f"fault_lost_silently: {sum(c.lost_silently for c in RESULTS)}")
    write(f"fault_duplicates: {sum(c.duplicates for c in RESULTS)}")
