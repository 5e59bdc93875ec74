"""A module's class groups, as LumiNUS has them: creating them and setting their users
(`service`), searching a module's groups and students (`search`), and Randomise (`randomise`),
over the groups under one parent (`studentgroups.siblings`)."""
