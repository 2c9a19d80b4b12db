//! flotilla-kustomize
