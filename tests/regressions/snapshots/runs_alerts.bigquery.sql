WITH runs AS (
  SELECT a.Name AS Name, j.Release AS Release, j.FromRelease AS FromRelease, j.Platform AS Platform,
         j.Architecture AS Architecture, j.Network AS Network, j.Topology AS Topology, a.JobName AS JobName,
         a.JobRunName AS JobRunName, a.ReleaseTag AS ReleaseTag, a.JobRunStartTime AS StartTime,
         SUM(a.AlertSeconds) AS Seconds
  FROM Alerts AS a JOIN Jobs AS j ON a.JobName = j.JobName
  WHERE a.JobRunStartTime >= @start AND a.JobRunStartTime < @end
  GROUP BY a.Name, j.Release, j.FromRelease, j.Platform, j.Architecture, j.Network, j.Topology, a.JobName,
           a.JobRunName, a.ReleaseTag, a.JobRunStartTime
)
SELECT Name, Release, FromRelease, Platform, Architecture, Network, Topology, JobName, JobRunName, ReleaseTag, StartTime, Seconds
FROM runs
WHERE Name IN UNNEST(@names) AND CONCAT(Name, '|', Release, '|', FromRelease, '|', Platform, '|', Architecture, '|', Network, '|', Topology) IN UNNEST(@keys)
ORDER BY Name, Release, FromRelease, Platform, Architecture, Network, Topology, StartTime, JobRunName
