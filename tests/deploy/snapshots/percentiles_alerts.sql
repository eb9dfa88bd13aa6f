WITH runs AS (
  SELECT a.Name AS AlertName, a.JobRunName AS JobRunName, SUM(a.AlertSeconds) AS Seconds,
         COALESCE(ANY_VALUE(a.MasterNodesUpdated), '') AS MasterNodesUpdated, j.Release AS Release,
         j.FromRelease AS FromRelease, j.Platform AS Platform, j.Architecture AS Architecture,
         j.Network AS Network, j.Topology AS Topology
  FROM Alerts AS a JOIN Jobs AS j ON a.JobName = j.JobName
  WHERE a.JobRunStartTime >= @start AND a.JobRunStartTime < @end AND a.Name IN UNNEST(@alert_names)
  GROUP BY a.Name, a.JobRunName, j.Release, j.FromRelease, j.Platform, j.Architecture, j.Network, j.Topology
), ranked AS (
  SELECT *,
    PERCENTILE_CONT(Seconds, 0.99) OVER (PARTITION BY AlertName, Network, Platform, Release, FromRelease, Topology) AS P99,
    PERCENTILE_CONT(Seconds, 0.95) OVER (PARTITION BY AlertName, Network, Platform, Release, FromRelease, Topology) AS P95
  FROM runs
)
SELECT AlertName, Release, FromRelease, Platform, Architecture, Network, Topology, COUNT(*) AS JobRuns, ANY_VALUE(P99) AS P99, ANY_VALUE(P95) AS P95
FROM ranked
GROUP BY AlertName, Release, FromRelease, Platform, Architecture, Network, Topology
HAVING COUNT(*) >= @min_job_runs
ORDER BY AlertName, Release, FromRelease, Platform, Architecture, Network, Topology
