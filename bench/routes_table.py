"""Route tables for the router benchmarks, shaped like GitHub's REST API.

``small_table()`` is 10 routes, ``large_table()`` about 1,000; the small one is
a subset of the large one, so every benchmark path means the same in both.
Routes are generated from resource lists: a collection answers GET and POST,
an item GET, PUT, PATCH and DELETE, and nested resources (GET, POST, DELETE)
hang below items.
"""
from __future__ import annotations

import re

SMALL = [
    ("GET", "/user"),
    ("GET", "/user/repos"),
    ("GET", "/emojis"),
    ("GET", "/users/:username"),
    ("GET", "/users/:username/repos"),
    ("GET", "/repos/:owner/:repo"),
    ("PATCH", "/repos/:owner/:repo"),
    ("GET", "/repos/:owner/:repo/issues"),
    ("GET", "/repos/:owner/:repo/issues/:issue_number/comments"),
    ("GET", "/repos/:owner/:repo/contents/*"),
]

# Leaf endpoints with no id below them: GET only.
META = ["emojis", "events", "feeds", "meta", "octocat", "rate_limit", "zen", "versions",
        "licenses", "issues", "notifications", "organizations", "repositories", "users",
        "codes_of_conduct", "gitignore/templates", "app", "app/installations",
        "marketplace_listing/plans", "search/code", "search/commits", "search/issues",
        "search/labels", "search/repositories", "search/topics", "search/users"]

# name -> (item param, nested collections below an item)
REPO = {
    "issues": ("issue_number", ["comments", "events", "labels", "assignees", "reactions",
                                "timeline", "lock", "sub_issues"]),
    "pulls": ("pull_number", ["commits", "files", "merge", "reviews", "comments",
                              "requested_reviewers", "update-branch"]),
    "releases": ("release_id", ["assets", "reactions"]),
    "hooks": ("hook_id", ["config", "deliveries", "pings", "tests"]),
    "labels": ("name", []),
    "milestones": ("milestone_number", ["labels"]),
    "deployments": ("deployment_id", ["statuses"]),
    "branches": ("branch", ["protection", "rename", "merge-upstream"]),
    "commits": ("ref", ["comments", "check-runs", "check-suites", "status", "statuses",
                        "pulls", "branches-where-head"]),
    "comments": ("comment_id", ["reactions"]),
    "keys": ("key_id", []),
    "collaborators": ("username", ["permission"]),
    "invitations": ("invitation_id", []),
    "environments": ("environment_name", ["secrets", "variables",
                                          "deployment-branch-policies"]),
    "projects": ("project_id", []),
    "forks": ("fork_id", []),
    "check-runs": ("check_run_id", ["annotations", "rerequest"]),
    "check-suites": ("check_suite_id", ["check-runs", "rerequest"]),
    "code-scanning/alerts": ("alert_number", ["instances", "autofix"]),
    "code-scanning/analyses": ("analysis_id", []),
    "dependabot/alerts": ("alert_number", []),
    "dependabot/secrets": ("secret_name", []),
    "secret-scanning/alerts": ("alert_number", ["locations"]),
    "actions/artifacts": ("artifact_id", ["zip"]),
    "actions/caches": ("cache_id", []),
    "actions/jobs": ("job_id", ["logs", "rerun"]),
    "actions/runners": ("runner_id", ["labels"]),
    "actions/runs": ("run_id", ["approvals", "artifacts", "attempts", "cancel", "jobs",
                                "logs", "pending_deployments", "rerun", "timing"]),
    "actions/secrets": ("secret_name", []),
    "actions/variables": ("name", []),
    "actions/workflows": ("workflow_id", ["disable", "dispatches", "enable", "runs",
                                          "timing"]),
    "git/blobs": ("file_sha", []),
    "git/commits": ("commit_sha", []),
    "git/refs": ("ref", []),
    "git/tags": ("tag_sha", []),
    "git/trees": ("tree_sha", []),
    "pages/builds": ("build_id", []),
    "rulesets": ("ruleset_id", ["history"]),
    "autolinks": ("autolink_id", []),
    "attestations": ("subject_digest", []),
}
REPO_LEAVES = ["topics", "languages", "tags", "teams", "contributors", "stargazers",
               "subscribers", "subscription", "watchers", "readme", "license", "events",
               "assignees", "notifications", "traffic/views", "traffic/clones",
               "traffic/popular/paths", "traffic/popular/referrers", "stats/contributors",
               "stats/commit_activity", "stats/code_frequency", "stats/participation",
               "stats/punch_card", "community/profile", "vulnerability-alerts",
               "automated-security-fixes", "private-vulnerability-reporting", "pages",
               "pages/health", "actions/permissions", "actions/cache/usage",
               "actions/oidc/customization/sub", "dependency-graph/sbom",
               "interaction-limits", "merges", "dispatches", "transfer", "generate",
               "properties/values", "codeowners/errors", "import", "import/authors",
               "import/large_files", "compare/:basehead", "tarball/:ref", "zipball/:ref",
               "readme/:dir"]

ORG = {
    "members": ("username", []),
    "memberships": ("username", []),
    "teams": ("team_slug", ["members", "memberships", "repos", "projects", "discussions",
                            "invitations", "teams"]),
    "hooks": ("hook_id", ["config", "deliveries", "pings"]),
    "invitations": ("invitation_id", ["teams"]),
    "actions/secrets": ("secret_name", ["repositories"]),
    "actions/variables": ("name", ["repositories"]),
    "actions/runners": ("runner_id", ["labels"]),
    "actions/runner-groups": ("runner_group_id", ["repositories", "runners"]),
    "dependabot/secrets": ("secret_name", ["repositories"]),
    "codespaces/secrets": ("secret_name", ["repositories"]),
    "migrations": ("migration_id", ["archive", "repositories"]),
    "outside_collaborators": ("username", []),
    "projects": ("project_id", []),
    "packages": ("package_type", []),
    "rulesets": ("ruleset_id", ["history"]),
    "custom-repository-roles": ("role_id", []),
    "security-managers/teams": ("team_slug", []),
    "blocks": ("username", []),
    "credential-authorizations": ("credential_id", []),
    "public_members": ("username", []),
}
ORG_LEAVES = ["repos", "events", "issues", "installations", "audit-log", "copilot/billing",
              "copilot/metrics", "settings/billing/actions", "settings/billing/packages",
              "settings/billing/shared-storage", "interaction-limits", "failed_invitations",
              "code-scanning/alerts", "dependabot/alerts", "secret-scanning/alerts",
              "actions/permissions", "actions/cache/usage", "properties/schema",
              "properties/values", "docker/conflicts", "personal-access-tokens",
              "personal-access-token-requests", "organization-roles", "attestations/:digest"]

MISC = ["/app/hook/config", "/app/hook/deliveries", "/app/installation-requests",
        "/applications/:client_id/grant", "/applications/:client_id/token",
        "/applications/:client_id/token/scoped", "/apps/:app_slug",
        "/assignments/:assignment_id", "/assignments/:assignment_id/grades",
        "/classrooms", "/classrooms/:classroom_id", "/classrooms/:classroom_id/assignments",
        "/marketplace_listing/accounts/:account_id",
        "/marketplace_listing/plans/:plan_id/accounts",
        "/networks/:owner/:repo/events", "/orgs/:org/actions/permissions/repositories",
        "/orgs/:org/actions/permissions/workflow",
        "/orgs/:org/actions/permissions/selected-actions",
        "/repos/:owner/:repo/actions/permissions/access",
        "/repos/:owner/:repo/actions/permissions/workflow",
        "/repos/:owner/:repo/branches/:branch/protection/required_status_checks",
        "/repos/:owner/:repo/branches/:branch/protection/required_signatures",
        "/repos/:owner/:repo/branches/:branch/protection/enforce_admins",
        "/repos/:owner/:repo/branches/:branch/protection/restrictions/teams",
        "/repos/:owner/:repo/branches/:branch/protection/restrictions/users",
        "/users/:username/packages/:package_type/:package_name",
        "/users/:username/packages/:package_type/:package_name/versions",
        "/users/:username/packages/:package_type/:package_name/versions/:package_version_id"]

USER = {
    "emails": ("email_id", []),
    "gpg_keys": ("gpg_key_id", []),
    "keys": ("key_id", []),
    "ssh_signing_keys": ("ssh_signing_key_id", []),
    "social_accounts": ("account_id", []),
    "migrations": ("migration_id", ["archive", "repositories"]),
    "codespaces": ("codespace_name", ["exports", "machines", "publish", "start", "stop"]),
    "codespaces/secrets": ("secret_name", ["repositories"]),
    "installations": ("installation_id", ["repositories"]),
    "packages": ("package_type", []),
    "memberships/orgs": ("org", []),
    "starred": ("owner", []),
    "following": ("username", []),
    "blocks": ("username", []),
    "interaction-limits": ("limit_id", []),
}
USER_LEAVES = ["repos", "orgs", "issues", "teams", "followers", "subscriptions",
               "public_emails", "repository_invitations", "marketplace_purchases",
               "docker/conflicts", "email/visibility"]
PUBLIC_USER_LEAVES = ["repos", "orgs", "events", "events/public", "received_events",
                      "received_events/public", "followers", "following", "gists",
                      "gpg_keys", "keys", "ssh_signing_keys", "social_accounts",
                      "starred", "subscriptions", "hovercard", "installation", "packages",
                      "projects", "settings/billing/actions", "attestations/:digest"]


def _resources(base: str, table: dict) -> list[tuple[str, str]]:
    routes = []
    for name, (item, nested) in table.items():
        collection = "%s/%s" % (base, name)
        item_path = "%s/:%s" % (collection, item)
        routes += [("GET", collection), ("POST", collection)]
        routes += [(method, item_path) for method in ("GET", "PUT", "PATCH", "DELETE")]
        for sub in nested:
            sub_path = "%s/%s" % (item_path, sub)
            routes += [(method, sub_path) for method in ("GET", "POST", "DELETE")]
    return routes


def _leaves(base: str, names: list[str]) -> list[tuple[str, str]]:
    return [("GET", "%s/%s" % (base, name)) for name in names]


def _shape(method: str, pattern: str) -> tuple[str, str]:
    return method, re.sub(r":\w+", ":", pattern)


def large_table() -> list[tuple[str, str]]:
    """About 1,000 distinct (method, pattern) pairs; starts with ``small_table()``."""
    routes = list(SMALL)
    routes += _leaves("", META)
    routes += [("GET", "/gitignore/templates/:name"), ("GET", "/licenses/:license"),
               ("POST", "/markdown"), ("POST", "/markdown/raw"), ("GET", "/gists/public"),
               ("GET", "/gists/starred"), ("GET", "/repos/:owner/:repo/git/matching-refs/*")]
    routes += _resources("", {"gists": ("gist_id", ["comments", "commits", "forks", "star"]),
                              "teams": ("team_id", ["members", "repos", "projects",
                                                    "discussions", "teams"]),
                              "projects": ("project_id", ["columns", "collaborators"]),
                              "notifications/threads": ("thread_id", ["subscription"])})
    repo = "/repos/:owner/:repo"
    routes += [("PUT", repo + "/contents/*"), ("DELETE", repo + "/contents/*"),
               ("DELETE", repo)]
    routes += _resources(repo, REPO) + _leaves(repo, REPO_LEAVES)
    routes += _resources("/orgs/:org", ORG) + _leaves("/orgs/:org", ORG_LEAVES)
    routes += [("GET", "/orgs/:org"), ("PATCH", "/orgs/:org"), ("DELETE", "/orgs/:org")]
    routes += _resources("/user", USER) + _leaves("/user", USER_LEAVES)
    routes += _leaves("/users/:username", PUBLIC_USER_LEAVES)
    routes += _resources("/enterprises/:enterprise", {
        "actions/runner-groups": ("runner_group_id", ["organizations", "runners"]),
        "actions/runners": ("runner_id", ["labels"]),
        "code-security/configurations": ("configuration_id", ["attach", "defaults",
                                                              "repositories"]),
    })
    routes += [("GET", pattern) for pattern in MISC]
    seen = set()
    unique = []
    for method, pattern in routes:
        shape = _shape(method, pattern)
        if shape not in seen:
            seen.add(shape)
            unique.append((method, pattern))
    return unique


def small_table() -> list[tuple[str, str]]:
    """10 routes, all of them also in ``large_table()``."""
    return list(SMALL)
