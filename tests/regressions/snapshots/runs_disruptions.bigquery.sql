WITH runs AS (
  SELECT d.BackendName AS Name, j.Release AS Release, j.FromRelease AS FromRelease, j.Platform AS Platform,
         j.Architecture AS Architecture, j.Network AS Network, j.Topology AS Topology, d.JobName AS JobName,
         d.JobRunName AS JobRunName, d.ReleaseTag AS ReleaseTag, d.JobRunStartTime AS StartTime,
         d.DisruptionSeconds AS Seconds
  FROM BackendDisruption AS d JOIN Jobs AS j ON d.JobName = j.JobName
  WHERE d.JobRunStartTime >= @start AND d.JobRunStartTime < @end AND j.Release = @release
)
SELECT Name, Release, FromRelease, Platform, Architecture, Network, Topology, JobName, JobRunName, ReleaseTag, StartTime, Seconds
FROM runs
WHERE Name IN UNNEST(@names) AND CONCAT(Name, '|', Release, '|', FromRelease, '|', Platform, '|', Architecture, '|', Network, '|', Topology) IN UNNEST(@keys)
ORDER BY Name, Release, FromRelease, Platform, Architecture, Network, Topology, StartTime, JobRunName
