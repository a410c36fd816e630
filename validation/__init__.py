"""Validation studies of eofpinn: comparisons of the solvers against exact solutions and each
other, reproductions of the source papers' claims, and the generated validation/RESULTS.md.

Study drivers are scripts (`python validation/exact_suite.py ...`); the modules they share —
the 1D double-layer task (npp1d.py), the NTK checks (ntk.py), the results page (results_page.py)
— import the installed library like any user code.
"""
