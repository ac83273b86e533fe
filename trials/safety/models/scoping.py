"""Who reaches safety rows: the subject's site (by hospital role) and the trial's sponsors and monitors."""
from collections.abc import Mapping

from registry.access import Action, HospitalRole, TrialRole

# Coordinators enter, investigators assess and sign, data managers correct; monitors of the hospital read.
SAFETY_HOSPITAL_ROLES: Mapping[Action, frozenset[str]] = {
    Action.VIEW: frozenset(HospitalRole.values),
    Action.ADD: frozenset({HospitalRole.COORDINATOR, HospitalRole.INVESTIGATOR, HospitalRole.DATA_MANAGER}),
    Action.CHANGE: frozenset({HospitalRole.COORDINATOR, HospitalRole.INVESTIGATOR, HospitalRole.DATA_MANAGER}),
    Action.DELETE: frozenset(),
}
# Sponsors follow their trials' safety (de-identified: the API shows subject numbers only) and make the sponsor's
# assessment through its own service check; trial monitors read. Central readers score images and see no AEs.
SAFETY_TRIAL_ROLES: Mapping[Action, frozenset[str]] = {Action.VIEW: frozenset({TrialRole.SPONSOR, TrialRole.MONITOR})}
