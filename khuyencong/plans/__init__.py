"""Annual khuyến công plans: spreadsheet import, reports and exports, synthetic history,
and the simulated plan year. The plan itself is ``workflows.plan.KeHoachWorkflow``."""
