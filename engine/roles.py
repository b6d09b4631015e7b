"""The role catalogue (domain.md §10.3) and the lane names with special routing."""
from __future__ import annotations

ROLES: frozenset[str] = frozenset({
    "employee", "line_manager", "second_line_manager", "rmu_planner", "budget_holder", "head_of_department",
    "chief_finance_officer", "chief_officer", "buyer", "head_of_procurement", "ssc_ap_officer",
    "ssc_ap_team_leader", "ssc_payroll_officer", "ssc_hr_officer", "finance_auditor", "vetting_officer",
    "vetting_supervisor", "force_vetting_manager", "appeal_panel_member", "psd_officer", "head_of_psd",
    "oh_advisor", "ld_panel_member", "uniform_stores", "process_designer", "force_manager", "platform_admin",
    "auditor_readonly", "external_applicant", "external_supplier_contact",
})

# Lanes that route to a person derived from the instance rather than to role holders.
LANE_SPECIAL: frozenset[str] = frozenset({"requester", "line_manager"})


def known_roles() -> frozenset[str]:
    """Every role name a lane or a grant may use."""
    return ROLES
