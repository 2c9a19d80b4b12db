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
    // The SOPS-encrypted Secret is decrypted (MAC verified) for both clusters.
    for d in &desired {
        let apps = d.units.iter().find(|u| u.name == "apps").unwrap();
        let secret = apps
            .objects
            .as_ref()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == "Secret")
            .unwrap();
        assert!(secret.get("sops").is_none());
        assert_eq!(secret["stringData"]["username"], "web");
    }
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

/// A copy of the example fleet to modify.
fn example_copy() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/fleet");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(src.join("."))
        .arg(t.path())
        .status()
        .unwrap();
    assert!(status.success());
    t
}

fn apps_error(dir: &Path) -> String {
    let fleet = Fleet::load(&dir.join("flotilla.yaml")).unwrap();
    let desired = flotilla_fleet::resolve(&fleet, &[&fleet.clusters[0]], &RenderCache::default());
    let apps = desired[0].units.iter().find(|u| u.name == "apps").unwrap();
    apps.objects.as_ref().unwrap_err().clone()
}

#[test]
fn encrypted_secrets_need_decryption_and_a_key_and_never_leak() {
    let t = example_copy();
    let apps = t.path().join("clusters/common/apps.yaml");
    let text = std::fs::read_to_string(&apps).unwrap();
    let cut = text.find("  # web-db.sops.yaml").unwrap();
    std::fs::write(&apps, &text[..cut]).unwrap();
    let e = apps_error(t.path());
    assert!(
        e.contains("Secret/shop/web-db is SOPS-encrypted") && e.contains("spec.decryption"),
        "{e}"
    );
    std::fs::write(&apps, &text).unwrap();

    // With the wrong key the MAC cannot be checked: a clear error, no value.
    // A freshly generated, unrelated test identity.
    std::fs::write(
        t.path().join("keys/example.agekey"),
        "AGE-SECRET-KEY-1CR5KR9PKCN6T0204FGDV7W5TJHLK4T5604QL00ZXKC6HR73EEM7SHADPXT\n",
    )
    .unwrap();
    let e = apps_error(t.path());
    assert!(
        e.contains("web-db.sops.yaml") && e.contains("SOPS decryption failed"),
        "{e}"
    );
    assert!(!e.contains("example-only-not-a-real-password"), "{e}");
}
