//! `--call=targets` and `--call=outline` results, after BuildKit's own tests.

use super::*;

#[test]
fn targets_list_as_json() {
    let text = "\n# build defines stage for compiling the binary\nFROM alpine AS build\nRUN true\n\nFROM busybox as second\nRUN false\n\nFROM --platform=$BUILDPLATFORM alpine\nRUN false\n\n# binary returns the compiled binary\nFROM second AS binary\n";
    let targets = list_targets(&dockerfile(text)).unwrap();
    insta::assert_snapshot!(serde_json::to_string_pretty(&targets).unwrap(), @r#"
    {
      "targets": [
        {
          "name": "build",
          "description": "defines stage for compiling the binary",
          "base": "alpine",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 3,
                  "character": 0
                },
                "end": {
                  "line": 3,
                  "character": 19
                }
              }
            ]
          }
        },
        {
          "name": "second",
          "base": "busybox",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 6,
                  "character": 0
                },
                "end": {
                  "line": 6,
                  "character": 21
                }
              }
            ]
          }
        },
        {
          "base": "alpine",
          "platform": "$BUILDPLATFORM",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 9,
                  "character": 0
                },
                "end": {
                  "line": 9,
                  "character": 36
                }
              }
            ]
          }
        },
        {
          "name": "binary",
          "default": true,
          "description": "returns the compiled binary",
          "base": "second",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 13,
                  "character": 0
                },
                "end": {
                  "line": 13,
                  "character": 20
                }
              }
            ]
          }
        }
      ]
    }
    "#);
}

#[test]
fn outline_args_as_json() {
    let text = r#"
ARG inherited=box
ARG inherited2=box2
ARG unused=abc${inherited2}
# sfx is a suffix
ARG sfx="usy${inherited}"

FROM b${sfx} AS first
# this is not assigned to anything
ARG FOO=123
# BAR is a number
ARG BAR=456
RUN true

FROM alpine${unused} AS second
ARG BAZ
RUN true

FROM scratch AS third
ARG ABC=a
# check=skip=all
ARG password
# alternate_password will show up in the outline
# check=skip=all
ARG alternate_password

# target defines build target
FROM third AS target
COPY --from=first /etc/passwd /

FROM second
"#;
    let options = LowerOptions {
        target: Some("target".to_owned()),
        build_args: vec![("BAR".to_owned(), "678".to_owned())],
        ..options()
    };
    let plan = plan_with(text, &options);
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    insta::assert_snapshot!(serde_json::to_string_pretty(&outline(&plan)).unwrap(), @r#"
    {
      "name": "target",
      "description": "defines build target",
      "args": [
        {
          "name": "inherited",
          "value": "box",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 2,
                  "character": 0
                },
                "end": {
                  "line": 2,
                  "character": 16
                }
              }
            ]
          }
        },
        {
          "name": "sfx",
          "description": "is a suffix",
          "value": "usybox",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 6,
                  "character": 0
                },
                "end": {
                  "line": 6,
                  "character": 24
                }
              }
            ]
          }
        },
        {
          "name": "FOO",
          "value": "123",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 10,
                  "character": 0
                },
                "end": {
                  "line": 10,
                  "character": 10
                }
              }
            ]
          }
        },
        {
          "name": "BAR",
          "description": "is a number",
          "value": "678",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 12,
                  "character": 0
                },
                "end": {
                  "line": 12,
                  "character": 10
                }
              }
            ]
          }
        },
        {
          "name": "ABC",
          "value": "a",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 20,
                  "character": 0
                },
                "end": {
                  "line": 20,
                  "character": 8
                }
              }
            ]
          }
        },
        {
          "name": "password",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 22,
                  "character": 0
                },
                "end": {
                  "line": 22,
                  "character": 11
                }
              }
            ]
          }
        },
        {
          "name": "alternate_password",
          "description": "will show up in the outline",
          "location": {
            "ranges": [
              {
                "start": {
                  "line": 25,
                  "character": 0
                },
                "end": {
                  "line": 25,
                  "character": 21
                }
              }
            ]
          }
        }
      ]
    }
    "#);
}

#[test]
fn outline_secrets_and_ssh() {
    let text = "
FROM busybox AS first
RUN --mount=type=secret,target=/etc/passwd,required=true --mount=type=ssh true

FROM alpine AS second
RUN --mount=type=secret,id=unused --mount=type=ssh,id=ssh2 true

FROM scratch AS third
ARG BAR
RUN --mount=type=secret,id=second${BAR} true

FROM third AS target
COPY --from=first /foo /
RUN --mount=type=ssh,id=ssh3,required true

FROM second
";
    let options = LowerOptions {
        target: Some("target".to_owned()),
        build_args: vec![("BAR".to_owned(), "678".to_owned())],
        ..options()
    };
    let outline = outline(&plan_with(text, &options));
    let secrets: Vec<(&str, bool, usize)> = outline
        .secrets
        .iter()
        .map(|s| (s.name.as_str(), s.required, s.location.ranges[0].start.line))
        .collect();
    assert_eq!(secrets, [("passwd", true, 3), ("second678", false, 10)]);
    let ssh: Vec<(&str, bool, usize)> = outline
        .ssh
        .iter()
        .map(|s| (s.name.as_str(), s.required, s.location.ranges[0].start.line))
        .collect();
    assert_eq!(ssh, [("default", false, 3), ("ssh3", true, 14)]);
}

#[test]
fn outline_recursive_args() {
    let text = "
ARG FOO=123
ARG ABC=abc
ARG DEF=def
ARG FOO=${FOO}${ABC}
ARG BAR=${FOO}456
ARG FOO=${FOO}456${BAR}
FROM scratch
ARG FOO
ARG INFOO=123
ARG INBAR=${INFOO}456
ARG INFOO=${INFOO}456${INBAR}
";
    let outline = outline(&plan(text));
    let args: Vec<(&str, &str)> = outline
        .args
        .iter()
        .map(|arg| (arg.name.as_str(), arg.value.as_str()))
        .collect();
    assert_eq!(
        args,
        [
            ("ABC", "abc"),
            ("BAR", "123abc456"),
            ("FOO", "123abc456123abc456"),
            ("INBAR", "123456"),
            ("INFOO", "123456123456"),
        ]
    );
}
