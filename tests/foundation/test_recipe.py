"""[pinn] recipe = "auto": the settings measured for walls that change along x are added to a
case that does not give them; a key the case gives always wins; "none" adds nothing; the
settings follow later changes of the walls or of the recipe (pinn_settings.resolve)."""

import re
from pathlib import Path

import pytest

from eofpinn.cases import load_case, load_with_overrides, with_settings
from eofpinn.cases.pinn_settings import WALL_PATTERN_RECIPE, PINNSettings
from eofpinn.cases.shipped import resolve_case
from eofpinn.cli import _load, build_parser
from eofpinn.errors import CaseError


def _without_pinn(name: str, tmp_path: Path) -> Path:
    """A shipped case with its [pinn] tables removed."""
    text = resolve_case(name).read_text(encoding="utf-8")
    text = re.split(r"^\[pinn", text, flags=re.M)[0]
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _recipe_values(settings: PINNSettings) -> dict:
    return {"points.balance_sections": settings.points.balance_sections,
            "points.section_terms": settings.points.section_terms,
            "balancing.max_ratio": settings.balancing.options.get("max_ratio"),
            "balancing.ion_spread_factor": settings.balancing.options.get("ion_spread_factor"),
            "balancing.cap_poisson": settings.balancing.options.get("cap_poisson"),
            "formulation.normal_velocity_scale": settings.formulation.normal_velocity_scale,
            "network.wall_features": settings.network.wall_features,
            "network.pattern_layer_features": settings.network.pattern_layer_features,
            "network.psi_layer_features": settings.network.psi_layer_features,
            "points.n_interior": settings.points.n_interior,
            "points.wall_fraction": settings.points.wall_fraction,
            "points.edge_fraction": settings.points.edge_fraction,
            "formulation.symmetry": settings.formulation.symmetry,
            "formulation.normal_velocity_envelope": settings.formulation.normal_velocity_envelope,
            "steps": settings.steps,
            "polish.steps": settings.polish.steps,
            "polish.dtype": settings.polish.dtype,
            "polish.blocks": settings.polish.blocks,
            "compile": settings.compile}


@pytest.mark.parametrize("name, steps, polish_steps, uniform", [("patterned_zeta", 7000, 0, "stratified"),
                                                                 ("zeta_step", 14000, 3000, "random")])
def test_a_2d_case_without_pinn_keys_gets_the_recipe(name, steps, polish_steps, uniform, tmp_path):
    """Every channel whose walls change along x gets the same settings; the run's length goes by
    its ends: 14000 steps between reservoirs, the last 3000 a flow polish, 7000 SOAP steps on a
    periodic channel whose counter-ions are not crowded (the eighth revision); where the ion-content
    gauge applies (periodic ends, no-flux walls) its uniform points are stratified (the ninth)."""
    case = load_case(_without_pinn(name, tmp_path))
    assert case.pinn.recipe == "auto"
    assert _recipe_values(case.pinn) == {"points.balance_sections": 16, "points.section_terms": "spread",
                                         "balancing.max_ratio": 1000, "balancing.ion_spread_factor": 10,
                                         "balancing.cap_poisson": False,
                                         "formulation.normal_velocity_scale": 0.1, "network.wall_features": True,
                                         "network.pattern_layer_features": True,
                                         "network.psi_layer_features": False,
                                         "points.n_interior": 1100, "points.wall_fraction": 0.4545,
                                         "points.edge_fraction": 0.0909, "formulation.symmetry": "mirror",
                                         "formulation.normal_velocity_envelope": 0.5, "steps": steps,
                                         "polish.steps": polish_steps, "polish.dtype": "float64",
                                         "polish.blocks": "flow", "compile": True}
    assert _recipe_values(case.pinn) == {**WALL_PATTERN_RECIPE, "steps": steps, "polish.steps": polish_steps}
    assert case.pinn.main_steps == steps - polish_steps and case.pinn.polish.name == "lbfgs"
    assert case.pinn.points.uniform == uniform and case.problem.fixes_ion_content == (uniform == "random")


def test_given_steps_keep_the_recipes_share_of_polish(tmp_path):
    """14000 steps, the last 3000 a polish; a case or command giving its own steps polishes the
    same share of them (steps × 3000 // 14000: none below 5 steps), and a given polish.steps wins."""
    path = _without_pinn("zeta_step", tmp_path)
    assert [(s.steps, s.polish.steps) for s in (load_case(path, {"pinn.steps": n}).pinn for n in (10000, 1000, 7, 4))] \
        == [(10000, 2142), (1000, 214), (7, 1), (4, 0)]
    given = load_case(path, {"pinn.steps": 1000, "pinn.polish.steps": 100}).pinn
    assert (given.steps, given.polish.steps, given.polish.blocks) == (1000, 100, "flow")
    assert load_case(path, {"pinn.polish.steps": 0}).pinn.main_steps == 14000


def test_a_polish_longer_than_the_default_steps_is_checked_against_the_runs_steps(tmp_path, capsys):
    """A polish of 6000 steps is longer than the defaults' 5000 steps and shorter than the
    recipe's 14000; on the command line --steps joins the --set changes, so a polish of 16000 in a
    run of 20000 is not refused against the recipe's 14000 before --steps is read."""
    path = _without_pinn("zeta_step", tmp_path)
    assert (lambda s: (s.steps, s.polish.steps))(load_case(path, {"pinn.polish.steps": 6000}).pinn) == (14000, 6000)
    args = build_parser().parse_args(["solve", str(path), "--solver", "pinn", "--steps", "20000",
                                      "--set", "pinn.polish.steps=16000"])
    assert (lambda s: (s.steps, s.main_steps))(_load(args).pinn) == (20000, 4000)
    with pytest.raises(CaseError, match=r"pinn\.polish\.steps.*must be less than \[pinn\] steps = 20000"):
        _load(build_parser().parse_args(["solve", str(path), "--solver", "pinn", "--steps", "20000",
                                         "--set", "pinn.polish.steps=20000"]))


def test_the_recipe_adds_the_mirror_symmetry_only_where_the_walls_are_alike(tmp_path):
    differ = load_case(_other_top_wall("zeta_step", tmp_path)).pinn
    assert differ.formulation.symmetry == "none" and differ.formulation.normal_velocity_envelope == 0.5
    assert differ.polish.blocks == "flow"


def test_a_stream_function_flow_gets_neither_the_symmetry_nor_the_envelope_and_ion_stream_functions_both(tmp_path):
    form = load_case(_without_pinn("zeta_step", tmp_path), {"pinn.formulation.flow": "stream"}).pinn.formulation
    assert (form.symmetry, form.normal_velocity_envelope, form.normal_velocity_scale) == ("none", 0.0, 1.0)
    # ion stream functions are built odd under the symmetry
    form = load_case(_without_pinn("patterned_zeta", tmp_path), {"pinn.formulation.ion_flux": "stream"}).pinn.formulation
    assert (form.symmetry, form.normal_velocity_envelope, form.ion_residuals) == ("mirror", 0.5, "absolute")


def _other_top_wall(name: str, tmp_path: Path) -> Path:
    """The shipped case without [pinn], its top wall made uniform (-50 mV): the walls differ."""
    text = _without_pinn(name, tmp_path).read_text(encoding="utf-8")
    path = tmp_path / f"{name}_other_top.toml"
    path.write_text(re.sub(r"^top = .*$", 'top = [["0 um", "1 um", "-50 mV"]]', text, flags=re.M), encoding="utf-8")
    return path


def test_the_mirror_symmetry_only_goes_with_walls_alike(tmp_path, capsys):
    """zeta_step's walls are alike and take the symmetry; with another top wall asking for it is
    one line naming the key."""
    from eofpinn.cli import main

    alike = load_case(_without_pinn("zeta_step", tmp_path), {"pinn.formulation.symmetry": "mirror"})
    assert alike.problem.mirror_symmetric and alike.pinn.formulation.symmetry == "mirror"
    path = _other_top_wall("zeta_step", tmp_path)
    assert not load_case(path).problem.mirror_symmetric
    path.write_text(path.read_text(encoding="utf-8") + '\n[pinn.formulation]\nsymmetry = "mirror"\n', encoding="utf-8")
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f'eofpinn: error: {path}: [pinn.formulation.symmetry] must be "none" where the two walls differ (the '
                   "mirror symmetry about y = 1/2 needs [walls] bottom = top); got 'mirror'"]


def test_the_mirror_symmetry_does_not_go_with_stream_functions(tmp_path):
    path = _without_pinn("zeta_step", tmp_path)
    with pytest.raises(CaseError) as info:
        load_case(path, {"pinn.formulation.flow": "stream", "pinn.formulation.symmetry": "mirror"})
    assert str(info.value).endswith('[pinn.formulation.symmetry] must be "none" with flow = "stream" (its stream '
                                    "function is not built odd about the centre line); got 'mirror'")


def test_a_straight_channel_keeps_the_defaults():
    assert load_case("straight_channel").pinn == PINNSettings()


def test_a_given_key_wins_and_none_adds_nothing(tmp_path):
    path = _without_pinn("patterned_zeta", tmp_path)
    given = load_case(path, {"pinn.points.balance_sections": 16}).pinn
    assert (given.points.balance_sections, given.points.section_terms) == (16, "spread")
    assert given.balancing.options == {"max_ratio": 1000, "ion_spread_factor": 10, "cap_poisson": False}
    assert load_case(path, {"pinn.recipe": "none"}).pinn == PINNSettings(recipe="none")


def test_a_wall_share_that_leaves_no_room_for_the_corner_points_is_one_line(tmp_path, capsys):
    """wall_fraction = 0.85 is valid alone; with the recipe's edge_fraction = 0.0909 the shares pass 0.9."""
    from eofpinn.cli import main

    path = _without_pinn("zeta_step", tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + "\n[pinn.points]\nwall_fraction = 0.85\n", encoding="utf-8")
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"eofpinn: error: {path}: [pinn.points.wall_fraction] + edge_fraction")
    assert err[0].endswith('got 0.85 + 0.0909 + 0 + 0 + 0 = 0.9409 (where the walls change along x, [pinn] recipe = "auto" '
                           'adds edge_fraction = 0.0909 unless the case gives it)')
    assert load_case(path, {"pinn.points.edge_fraction": 0.05}).pinn.points.edge_fraction == 0.05


def test_balancer_options_only_go_with_their_balancer(tmp_path):
    settings = load_case(_without_pinn("zeta_step", tmp_path), {"pinn.balancing.name": "lra"}).pinn
    assert settings.balancing.name == "lra" and "max_ratio" not in settings.balancing.options
    assert "ion_spread_factor" not in settings.balancing.options
    assert settings.points.balance_sections == 16


def test_the_scale_of_v_only_goes_with_a_flow_block_that_carries_v(tmp_path):
    """A stream-function flow (which refuses normal_velocity_scale ≠ 1) gets the rest of the recipe."""
    settings = load_case(_without_pinn("zeta_step", tmp_path), {"pinn.formulation.flow": "stream"}).pinn
    assert settings.formulation.normal_velocity_scale == 1.0
    assert settings.balancing.options == {"max_ratio": 1000, "ion_spread_factor": 10, "cap_poisson": False}


def test_settings_follow_changes_of_the_recipe_and_of_the_walls(tmp_path):
    path = _without_pinn("patterned_zeta", tmp_path)
    case = load_case(path)
    off = with_settings(case, {"recipe": "none"})
    assert off.pinn == PINNSettings(recipe="none")
    assert with_settings(off, {"recipe": "auto"}).pinn == case.pinn
    # one ζ̂ on every segment: a straight channel, so the recipe adds nothing any more
    assert load_with_overrides(str(path), {"zeta_hat": -1.0}).pinn == PINNSettings()


def test_an_unknown_recipe_is_one_line_naming_the_key(tmp_path):
    with pytest.raises(CaseError) as info:
        load_case(_without_pinn("zeta_step", tmp_path), {"pinn.recipe": "fast"})
    assert str(info.value).endswith("[pinn.recipe] must be one of 'auto', 'none'; got 'fast'")


def test_another_balancer_or_optimiser_drops_the_old_ones_options():
    case = load_case("quickstart")  # gives balancing.every and the soap option precondition_frequency
    assert with_settings(case, {"balancing.name": "none"}).pinn.balancing.options == {}
    adam = with_settings(case, {"optimizer.name": "adam"}).pinn.optimizer
    assert (adam.name, adam.learning_rate, adam.options) == ("adam", 3e-3, {})


def test_info_says_what_the_recipe_adds(tmp_path, capsys):
    from eofpinn.cli import main

    assert main(["info", str(_without_pinn("zeta_step", tmp_path))]) == 0
    line = [row for row in capsys.readouterr().out.splitlines() if row.startswith("PINN recipe")]
    assert line and line[0].split(None, 2)[2] == (
        'auto: adds points.balance_sections = 16, points.section_terms = "spread", balancing.max_ratio = 1000, '
        'balancing.ion_spread_factor = 10, balancing.cap_poisson = false, formulation.normal_velocity_scale = 0.1, '
        'network.wall_features = true, '
        'network.pattern_layer_features = true, network.psi_layer_features = false, points.n_interior = 1100, '
        'points.wall_fraction = 0.4545, points.edge_fraction = 0.0909, formulation.symmetry = "mirror", '
        'formulation.normal_velocity_envelope = 0.5, polish.dtype = "float64", polish.blocks = "flow", compile = true, '
        'steps = 14000, polish.steps = 3000 (walls that change along x; docs/case-files.md "[pinn]")')
    # A periodic pattern with no crowded counter-ion gets no polish: its dtype and blocks are not listed.
    assert main(["info", str(_without_pinn("patterned_zeta", tmp_path))]) == 0
    line = [row for row in capsys.readouterr().out.splitlines() if row.startswith("PINN recipe")]
    assert line and "polish.steps = 0" in line[0] and "polish.dtype" not in line[0] and "polish.blocks" not in line[0]
    assert main(["info", "straight_channel"]) == 0
    assert re.search(r"^PINN recipe +auto: adds nothing \(a straight channel\)$", capsys.readouterr().out, re.M)
    # --set changes what info reports, as it changes what solve would run: a stream-function flow
    # takes neither the symmetry nor v's scale and envelope; a bad value is one line, exit 2
    assert main(["info", str(_without_pinn("zeta_step", tmp_path)), "--set", "pinn.formulation.flow=stream"]) == 0
    line = [row for row in capsys.readouterr().out.splitlines() if row.startswith("PINN recipe")][0]
    assert "points.balance_sections = 16" in line and "symmetry" not in line and "normal_velocity" not in line
    assert main(["info", "patterned_zeta", "--set", "walls.top=-50mV", "--set", "walls.bottom=-50mV"]) == 0
    assert re.search(r"^PINN recipe +auto: adds nothing \(a straight channel\)$", capsys.readouterr().out, re.M)
    assert main(["info", "patterned_zeta", "--set", "pinn.formulation.ion_flux=strem"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "eofpinn: error: --set: [pinn.formulation.ion_flux] must be one of 'divergence', 'stream'; got 'strem'"]


def test_settings_replaced_in_code_are_final(tmp_path):
    """A script that replaces case.pinn directly keeps those settings through later changes."""
    import dataclasses

    case = load_case(_without_pinn("zeta_step", tmp_path))
    mine = dataclasses.replace(case, pinn=PINNSettings(threads=1))
    changed = with_settings(mine, {"steps": 10})
    assert (changed.pinn.threads, changed.pinn.steps, changed.pinn.points.balance_sections) == (1, 10, 0)


def test_a_crowded_counter_ion_gets_ionic_strength_residuals_on_a_2d_channel(tmp_path):
    """Where a counter-ion reaches more than 100× its bulk at a wall (e^{−ẑζ̂}), the 2D recipe also
    takes the Nernst–Planck and Poisson residuals over the local ionic strength (docs/method.md "A
    trivalent counter-ion's drive", "Poisson over the ionic strength"): LaCl₃ on patterned_zeta's
    −50 mV patches (343×) and KCl at −150 mV (e^{5.84} = 343×) do; KCl (7×), CaCl₂ (49×) and
    Na₂SO₄ there do not, nor a straight channel, ion stream functions or a case that gives the key."""
    from eofpinn.cases.pinn_settings import COUNTER_ION_CROWDING, counter_ion_crowding

    text = _without_pinn("patterned_zeta", tmp_path).read_text(encoding="utf-8")
    salts = {"3:1": ("valence_plus = 3\nvalence_minus = -1", "-50 mV", 343.0, "ionic_strength"),
             "1:1 at -150 mV": ("valence = 1", "-150 mV", 343.0, "ionic_strength"),
             "1:1": ("valence = 1", "-50 mV", 7.0, "absolute"),
             "2:1": ("valence_plus = 2\nvalence_minus = -1", "-50 mV", 49.0, "absolute"),
             "1:2": ("valence_plus = 1\nvalence_minus = -2", "-50 mV", 7.0, "absolute")}
    for number, (label, (lines, zeta, crowding, residuals)) in enumerate(salts.items()):
        path = tmp_path / f"salt_{number}.toml"
        changed = re.sub(r"^valence = 1$", lines, text, flags=re.M).replace('"-50 mV"', f'"{zeta}"')
        path.write_text(changed, encoding="utf-8")
        case = load_case(path)
        assert counter_ion_crowding(case.problem) == pytest.approx(crowding, rel=0.01), label
        assert (counter_ion_crowding(case.problem) > COUNTER_ION_CROWDING) == (residuals == "ionic_strength")
        assert case.pinn.formulation.ion_residuals == residuals, label
        assert case.pinn.formulation.poisson_residual == residuals, label  # the two go together
        # a periodic channel keeps its flow polish only where a counter-ion is crowded
        assert case.pinn.polish.steps == (1500 if residuals == "ionic_strength" else 0), label
        if residuals == "ionic_strength":
            given = load_case(path, {"pinn.formulation.ion_residuals": "absolute"}).pinn.formulation
            streams = load_case(path, {"pinn.formulation.ion_flux": "stream"}).pinn.formulation
            assert given.ion_residuals == "absolute" and (streams.ion_flux, streams.ion_residuals) == ("stream", "absolute")
        if label == "3:1":
            from eofpinn.cli import _recipe_line

            assert _recipe_line(case).endswith('formulation.ion_residuals = "ionic_strength", '
                                               'formulation.poisson_residual = "ionic_strength", '
                                               'points.uniform = "stratified", steps = 7000, '
                                               'polish.steps = 1500 (walls that change along x; a counter-ion 343× '
                                               'its bulk at a wall; docs/case-files.md "[pinn]")')
    assert counter_ion_crowding(load_case("cacl2_channel").problem) > COUNTER_ION_CROWDING  # 2:1 σ walls, 119×
    assert load_case("cacl2_channel").pinn.formulation.ion_residuals == "absolute"  # straight: no 2D recipe
