//! The `tfplugin6.Provider` gRPC service: maps protocol requests onto the provider framework.
//! Owned by the framework engineer.
