//! The bundled example fleet (`examples/fleet`) renders as its README says,
//! with no cluster.

use flotilla_fleet::{Fleet, RenderCache};
use std::path::Path;

#[test]
fn the_example_fleet_renders_both_environments() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/fleet/flotilla.yaml");
    let fleet = Fleet::load(&file).expect("example fleet file");
    let all: Vec<_> = fleet.clusters.iter().collect();
    let desired = flotilla_fleet::resolve(&fleet, &all, &RenderCache::default());
    assert_eq!(desired.len(), 2);
    for d in &desired {
        assert!(d.error.is_none(), "{:?}", d.error);
        let names: Vec<&str> = d.units.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(
            names,
            ["infrastructure", "apps", "cluster-root", "monitoring"],
            "{}",
            d.cluster.name
        );
        for u in &d.units {
            assert!(
                u.objects.is_ok(),
                "{} / {}: {:?}",
                d.cluster.name,
                u.name,
                u.objects
            );
        }
    }
    let web = |cluster: usize| {
        let apps = desired[cluster]
            .units
            .iter()
            .find(|u| u.name == "apps")
            .unwrap();
        apps.objects
            .as_ref()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == "Deployment")
            .unwrap()
            .clone()
    };
    let (staging, production) = (web(0), web(1));
    let container = |w: &serde_json::Value| w["spec"]["template"]["spec"]["containers"][0].clone();
    assert_eq!(
        container(&staging)["image"],
        "ghcr.io/example/web:1.5.0-rc.1"
    );
    assert_eq!(container(&production)["image"], "ghcr.io/example/web:1.4.0");
    assert_eq!(staging["spec"]["replicas"], 1);
    assert_eq!(production["spec"]["replicas"], 3);
    let env = |w: &serde_json::Value, name: &str| {
        container(w)["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap()["value"]
            .clone()
    };
    assert_eq!(env(&staging, "DOMAIN"), "shop.staging.example.com");
    assert_eq!(env(&production, "LOG_LEVEL"), "warn");
    assert_eq!(env(&production, "CLUSTER"), "production");
    assert_eq!(env(&staging, "TIER"), "frontend");
    let agent = |cluster: usize| {
        let m = desired[cluster]
            .units
            .iter()
            .find(|u| u.name == "monitoring")
            .unwrap();
        m.objects
            .as_ref()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == "ConfigMap")
            .unwrap()["data"]
            .clone()
    };
    assert_eq!(agent(0)["retention"], "3d");
    assert_eq!(agent(1)["retention"], "30d");
    assert_eq!(agent(0)["scrape_interval"], "60s");
}
