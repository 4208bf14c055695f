"""The app's custom domain on Vercel and its DNS record in Cloudflare."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_cloudflare as cloudflare
import pulumiverse_vercel as vercel

from infra import catalog


class BranchDomainError(pulumi.RunError):
    """A branch domain on the project's production branch (a RunError: the message, no traceback)."""


def branch_for_domain(name: str, branch: str, production_branch: str | None) -> str:
    """`branch`, unless it is the project's production branch (then a clear error)."""
    if production_branch and branch == production_branch:
        raise BranchDomainError(
            f"{name}: git branch {branch!r} is the Vercel project's production branch; a branch domain "
            "must follow another branch (config domainGitBranch), and that branch must exist in the repository"
        )
    return branch


def cname_target(recommended: str) -> str:
    """Vercel's recommended CNAME as Cloudflare stores a CNAME target: without the trailing dot.

    Vercel answers the FQDN with its dot (`....vercel-dns-017.com.`); Cloudflare stores and reads
    back targets without it, and the provider's plan compares them only case-insensitively
    (cloudflare/terraform-provider-cloudflare internal/services/dns_record/custom.go; issue #7286),
    so a dotted `content` would show as a change on every `up` and on every nightly drift check."""
    return recommended.rstrip(".")


@dataclass(frozen=True, kw_only=True)
class AppDomainArgs:
    """Inputs of `AppDomain`."""

    project_id: pulumi.Input[str]
    """Vercel project that serves the domain; required."""
    domain: str
    """Fully qualified domain, e.g. app.appstoagents.com; required."""
    zone: str
    """Cloudflare zone that holds the record, e.g. appstoagents.com; required."""
    git_branch: str = ""
    """Branch whose deployments get the domain; defaults to "" (production)."""
    production_branch: pulumi.Input[str | None] | None = None
    """The project's production branch as the provider reads it, so a branch domain on it is
    refused before Vercel does; defaults to None (not checked)."""


class AppDomain(pulumi.ComponentResource):
    """Attaches a domain to the project and points DNS at the target Vercel recommends."""

    url: pulumi.Output[str]
    """https URL of the domain."""
    dns_target: pulumi.Output[str]
    """Where the DNS record points."""

    def __init__(self, name: str, args: AppDomainArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(catalog.TOKEN_APP_DOMAIN, name, None, opts)
        git_branch: pulumi.Input[str] | None = args.git_branch or None
        if args.git_branch and args.production_branch is not None:
            # The branch must exist in the repository, which nothing here can read; what can be
            # read is the project's production branch, whose deployments get production domains.
            production_branch: pulumi.Output[str | None] = pulumi.Output.from_input(args.production_branch)
            git_branch = production_branch.apply(
                lambda production: branch_for_domain(name, args.git_branch, production)
            )
        domain = vercel.ProjectDomain(
            f"{name}-domain",
            project_id=args.project_id,
            domain=args.domain,
            git_branch=git_branch,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Vercel assigns each domain its own target; ask for it once the domain is attached
        # instead of hard-coding the guide's 76.76.19.61.
        config = vercel.get_domain_config_output(
            domain=args.domain,
            project_id_or_name=args.project_id,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[domain]),
        )
        zone = cloudflare.get_zone_output(
            filter=cloudflare.GetZoneFilterArgs(name=args.zone, match="all"),
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        apex = args.domain == args.zone
        # The apex cannot be a CNAME; it takes the first recommended IPv4 address.
        target = config.recommended_ipv4s[0] if apex else config.recommended_cname.apply(cname_target)
        cloudflare.DnsRecord(
            f"{name}-record",
            zone_id=zone.zone_id,
            name=args.domain,
            type="A" if apex else "CNAME",
            content=target,
            ttl=1,
            # DNS only: Vercel terminates TLS and runs its own edge; a second proxy in
            # front breaks certificate issuance and hides client IPs from the rate limit.
            proxied=False,
            comment="Managed by ara-infra (Pulumi)",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.url = pulumi.Output.from_input(f"https://{args.domain}")
        self.dns_target = target
        self.register_outputs({"url": self.url, "dns_target": self.dns_target})
