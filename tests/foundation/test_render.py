"""ParaView collections load; the off-screen render falls back instead of crashing."""

import numpy as np
import pyvista as pv

from eofpinn import io
from eofpinn.cases import case_from_problem, straight_problem
from eofpinn.render import render_run, write_pvd
from eofpinn.solvers.exact import solve_exact


def test_pvd_collection_opens_every_dataset(tmp_path):
    for i, zeta in enumerate((0.5, 1.0)):
        run = tmp_path / f"run{i}"
        run.mkdir()
        io.write(solve_exact(case_from_problem(straight_problem(0.1, zeta)), nx=4, ny=21), run / "fields.vts")
    pvd = write_pvd([(0, "run0/fields.vts"), (1, "run1/fields.vts")], tmp_path / "all.pvd", names=["a", "b"])
    reader = pv.get_reader(str(pvd))
    assert reader.number_time_points == 2
    reader.set_active_time_value(1.0)
    wall_psi = reader.read()[0]["psi_nondim"] if isinstance(reader.read(), pv.MultiBlock) else reader.read()["psi_nondim"]
    assert np.max(wall_psi) == np.float64(1.0)


def test_render_without_data_reports_instead_of_crashing(tmp_path):
    path, note = render_run(tmp_path, timeout_s=60)
    assert path is None
    assert note.startswith("pyvista off-screen render unavailable")
