//! planLaunch natively (criterion). The same requests run through wasm in
//! Node in `benches/plan-node.cjs`; `npm run bench` prints both side by side.

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use criterion::{black_box, criterion_group, Criterion};
    use pam_launch_wasm::core::api;
    use pam_launch_wasm::core::dag::{self, Content, DagInput};
    use serde_json::{json, Value};

    fn record() -> Value {
        json!({"type": "pamMachine", "title": "Lab Rocky", "fields": [
            {"type": "pamHostname", "value": [{"hostName": "rocky.lab", "port": "22"}]},
            {"type": "login", "value": ["root"]},
            {"type": "pamSettings", "value": [{"connection": {"protocol": "ssh", "userRecords": ["Q_luxs_ofKp-zQes7A173A"]},
                "options": {"jit_settings": {"create_ephemeral": true, "ephemeral_account_type": "linux",
                    "elevate": true, "elevation_method": "group", "elevation_string": "wheel"}}}]}
        ], "custom": []})
    }

    fn bench(c: &mut Criterion) {
        let request =
            json!({"recordUid": "CzYUVX3cW3YOkEu2Jt4bQA", "record": record(), "jit": true});
        c.bench_function("planLaunch (record settings)", |b| {
            b.iter(|| {
                let req = api::launch_request(black_box(&request), None, None).ok();
                req.and_then(|r| api::plan_launch(&r).ok())
            })
        });

        let key = [42u8; 32];
        let settings = json!({"createEphemeral": true, "ephemeralAccountType": "linux", "elevate": true,
            "elevationMethod": "group", "elevationString": "wheel"});
        let blob =
            dag::encrypt(settings.to_string().as_bytes(), &key, &[7u8; 12]).unwrap_or_default();
        let text = dag::encode_base64url(&blob);
        c.bench_function("planLaunch (encrypted DAG edge)", |b| {
            b.iter(|| {
                let dag = Some(DagInput::Content(Content::Json(Value::String(
                    text.clone(),
                ))));
                let req = api::launch_request(black_box(&request), dag, Some(key.to_vec())).ok();
                req.and_then(|r| api::plan_launch(&r).ok())
            })
        });

        c.bench_function("normalizeJitSettings", |b| {
            b.iter(|| api::normalize_jit_settings(black_box(&settings)))
        });
    }

    criterion_group!(benches, bench);
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(native::benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
