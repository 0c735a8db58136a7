#!/usr/bin/env bash
# Notebooks that review well in git: the filter and drivers that .gitattributes names, set in
# this clone's .git/config (make venv and make lab run this; safe to run again).
#   - nbstripout (filter): outputs, execution counts and run metadata are stripped as a
#     notebook is staged, so a commit holds the notebook's code and story only;
#   - nbdime (diff and merge drivers): git diff and git merge see notebooks cell by cell
#     (outputs, cell ids and execution counts ignored in diffs).
# Git runs filters and drivers from the top of the working tree, so the commands are given
# relative to it: each clone and each worktree uses the tools of its own virtual environment.
set -euo pipefail
venv="${1:-.venv}"
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "notebook-git: not a git checkout, no filter to set"
    exit 0
fi
git config filter.nbstripout.clean "$venv/bin/nbstripout"
git config filter.nbstripout.smudge cat
# what Papermill leaves in an executed notebook (its parameters, run times) goes too
git config filter.nbstripout.extrakeys "metadata.papermill cell.metadata.papermill"
git config diff.jupyternotebook.command \
    "$venv/bin/git-nbdiffdriver diff --ignore-outputs --ignore-id --ignore-details"
git config merge.jupyternotebook.driver "$venv/bin/git-nbmergedriver merge %O %A %B %L %P"
git config merge.jupyternotebook.name "jupyter notebook merge driver (nbdime)"
