/// Issue 15's array values: a table partitioned by day on `at` (2024-01-01 and 2024-01-02), so every
/// column's declared dimensions (`attndims`) are 0 in its partitions, whose int4[], text[], numeric[]
/// and numeric(8,2)[] columns hold 2-D and 3-D values mixed with 1-D ones in one column, lower bounds
/// other than 1, NULL elements, empty arrays and NULL values. Seven rows on the first day, one on the second.
public func arrayShapesSQL(_ table: String) -> String {
    #"""
    SET client_min_messages = warning;
    CREATE TABLE \#(table) (id int NOT NULL, at timestamptz NOT NULL, ia int4[], ta text[], na numeric[], nd numeric(8,2)[])
      PARTITION BY RANGE (at);
    CREATE TABLE \#(table)_20240101 PARTITION OF \#(table) FOR VALUES FROM ('2024-01-01 00:00+00') TO ('2024-01-02 00:00+00');
    CREATE TABLE \#(table)_20240102 PARTITION OF \#(table) FOR VALUES FROM ('2024-01-02 00:00+00') TO ('2024-01-03 00:00+00');
    INSERT INTO \#(table) VALUES
      (1, '2024-01-01 01:00+00', '{{1,2},{3,NULL}}', '{{"a b",NULL},{"{}","\\"}}', '{{{1.5}},{{NaN}}}', '{{1.25,NULL},{-3.50,0}}'),
      (2, '2024-01-01 02:00+00', '[0:1][-1:0]={{1,2},{3,4}}', '[2:2][1:3]={{x,y,z}}', '[-5:-4]={1.50,NULL}', '[0:0]={7.00}'),
      (3, '2024-01-01 03:00+00', '{}', '{}', '{}', '{}'),
      (4, '2024-01-01 04:00+00', '{1,2}', '{a}', '{1}', '{1.00}'),
      (5, '2024-01-01 05:00+00', NULL, NULL, NULL, NULL),
      (6, '2024-01-01 06:00+00', '{{{1,2},{3,4}},{{5,6},{7,8}}}', '{{{NULL}}}', '{{{1e-20}}}', '{{{NULL,NULL}}}'),
      (7, '2024-01-01 07:00+00', '{NULL}', '{{NULL,NULL}}', '[3:3]={NULL}', '{{1.00},{2.00}}'),
      (8, '2024-01-02 01:00+00', '{{1},{2}}', '{"",""}', '{{1.0,2.00},{3,4}}', '{999999.99}');
    """#
}
