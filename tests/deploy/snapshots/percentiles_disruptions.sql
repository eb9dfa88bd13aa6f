WITH runs AS (
  SELECT d.BackendName AS BackendName, d.JobRunName AS JobRunName, d.DisruptionSeconds AS Seconds,
         COALESCE(d.MasterNodesUpdated, '') AS MasterNodesUpdated, j.Release AS Release,
         j.FromRelease AS FromRelease, j.Platform AS Platform, j.Architecture AS Architecture,
         j.Network AS Network, j.Topology AS Topology
  FROM BackendDisruption AS d JOIN Jobs AS j ON d.JobName = j.JobName
  WHERE d.JobRunStartTime >= @start AND d.JobRunStartTime < @end
), ranked AS (
  SELECT *,
    PERCENTILE_CONT(Seconds, 0.99) OVER (PARTITION BY BackendName, Network, Platform, Release, FromRelease, Topology) AS P99,
    PERCENTILE_CONT(Seconds, 0.95) OVER (PARTITION BY BackendName, Network, Platform, Release, FromRelease, Topology) AS P95
  FROM runs
)
SELECT BackendName, Release, FromRelease, Platform, Architecture, Network, Topology, COUNT(*) AS JobRuns, ANY_VALUE(P99) AS P99, ANY_VALUE(P95) AS P95
FROM ranked
GROUP BY BackendName, Release, FromRelease, Platform, Architecture, Network, Topology
HAVING COUNT(*) >= @min_job_runs
ORDER BY BackendName, Release, FromRelease, Platform, Architecture, Network, Topology
