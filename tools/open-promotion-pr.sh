#!/usr/bin/env bash
# Open the promotion pull request for a stack file tools/bump_model_package.py has just edited in the work tree:
# a branch `promote/<stack>/<model>-<version>` from the current commit, the file committed through the API (so the
# commit is GitHub's, signed), and the pull request. Nothing happens when the branch exists already (a pull request
# for this version was opened before). Used by .github/workflows/promote-model.yml and promote-prod.yml.
#
#   tools/open-promotion-pr.sh <stack> <model> <version> <body file>
# Needs GH_TOKEN, GITHUB_REPOSITORY, GITHUB_SHA and GITHUB_REF_NAME (set by GitHub Actions).
set -euo pipefail
stack=$1 model=$2 version=$3 body=$4
branch="promote/${stack}/${model}-${version}"
file="Pulumi.${stack}.yaml"
if gh api "repos/${GITHUB_REPOSITORY}/branches/${branch}" --silent 2>/dev/null; then
  echo "${branch} exists: its pull request was opened before"
  exit 0
fi
gh api --method POST "repos/${GITHUB_REPOSITORY}/git/refs" \
  -f ref="refs/heads/${branch}" -f sha="${GITHUB_SHA}" > /dev/null
blob=$(gh api "repos/${GITHUB_REPOSITORY}/contents/${file}?ref=${branch}" --jq .sha)
gh api --method PUT "repos/${GITHUB_REPOSITORY}/contents/${file}" \
  -f message="Promote ${model} version ${version} to ${stack}" \
  -f content="$(base64 -w0 "$file")" -f sha="${blob}" -f branch="${branch}" > /dev/null
gh pr create --repo "${GITHUB_REPOSITORY}" --base "${GITHUB_REF_NAME}" --head "${branch}" \
  --title "Promote ${model} version ${version} to ${stack}" --body-file "$body"
