//! Checks that the annotated function has a shape the runner can call.

use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, ReturnType, Type};

/// How the runner calls the scenario.
pub enum Shape {
    /// `async fn(user: &mut User) -> Result<..>`
    Plain,
    /// `async fn(user: &mut User, param: &str) -> Result<..>`
    Param,
}

/// The checked signature: its shape and the type the first argument borrows (`User`, or the
/// team's client; the trait `ScenarioArg` decides which types are allowed).
pub struct Signature {
    pub shape: Shape,
    pub argument: Type,
}

pub fn check(function: &ItemFn, has_params: bool) -> syn::Result<Signature> {
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            "a #[stress_test] function must be `async fn`",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "a #[stress_test] function cannot be generic",
        ));
    }
    if let ReturnType::Default = sig.output {
        return Err(syn::Error::new(
            sig.ident.span(),
            "a #[stress_test] function must return a `Result<T, E>` (for example \
             `anyhow::Result<()>`)",
        ));
    }
    let inputs: Vec<&FnArg> = sig.inputs.iter().collect();
    let expected = if has_params { 2 } else { 1 };
    let form = if has_params {
        "`async fn(user: &mut User, param: &str)` (it has `params = [..]`)"
    } else {
        "`async fn(user: &mut User)` (or `&mut` a `UserClient` type), or add `params = [..]` \
         for a second `&str` argument"
    };
    if inputs.len() != expected {
        // Point at the first argument too many, or at the parentheses when one is missing.
        let span = inputs
            .get(expected)
            .map_or_else(|| sig.paren_token.span.join(), |extra| extra.span());
        return Err(syn::Error::new(
            span,
            format!("wrong arguments: expected {form}"),
        ));
    }
    for input in &inputs {
        if let FnArg::Receiver(receiver) = input {
            return Err(syn::Error::new(
                receiver.span(),
                "a #[stress_test] function cannot take `self`",
            ));
        }
    }
    let FnArg::Typed(first) = inputs[0] else {
        unreachable!("receivers were refused above")
    };
    let Some(argument) = mut_referent(&first.ty) else {
        return Err(syn::Error::new(
            first.ty.span(),
            "the first argument must be `&mut User`, or `&mut` a type implementing \
             `swarm_harness::UserClient`",
        ));
    };
    if has_params
        && let FnArg::Typed(second) = inputs[1]
        && !is_shared_reference(&second.ty)
    {
        return Err(syn::Error::new(
            second.ty.span(),
            "the parameter argument must be `&str`",
        ));
    }
    Ok(Signature {
        shape: if has_params {
            Shape::Param
        } else {
            Shape::Plain
        },
        argument,
    })
}

/// `T` of `&mut T` (with or without a lifetime).
fn mut_referent(ty: &Type) -> Option<Type> {
    match ty {
        Type::Reference(reference) if reference.mutability.is_some() => {
            Some((*reference.elem).clone())
        }
        _ => None,
    }
}

fn is_shared_reference(ty: &Type) -> bool {
    matches!(ty, Type::Reference(reference) if reference.mutability.is_none())
}
