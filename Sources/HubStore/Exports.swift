// The store's vocabulary (what a use case asks of the store, and the values it answers with) is HubStorage's; every
// module that uses the SQLite store speaks it.
@_exported import HubStorage
